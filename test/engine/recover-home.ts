// The instants and the day of the recover suite's demo home (test/engine/recover.suite.ts).

/** The demo's instant; repairs run a little later (a rebuilt candle shows it in updated_at), --full later still. */
export const DEMO_NOW = '2024-08-10T12:34:56Z'
export const REPAIR_NOW = '2024-08-10T12:40:00Z'
export const REPAIRED_AT = '2024-08-10 12:40:00'
export const FULL_NOW = '2024-08-10T12:41:00Z'
/** The day whose candles the tests break and repair. */
export const DAY = '2024-08-08'
