import type {Engine, MarketScope} from './engine/engine.js'

import {FlowWindowResult, runFlowWindows} from './flow-run.js'
import {RunHistory, RunRecord, RunTrigger} from './run-history.js'
import {marketText} from './market.js'
import {formatMicros} from './time.js'
import {TIMEFRAME_SPECS, Timeframe} from './timeframes.js'
import {firstLine} from './words.js'

export interface FlowRunOptions {
  trigger: RunTrigger
  nowMicros: number
  /** Default: the flow's own lookback (DESIGN.md, "Flows and schedules"). */
  lookbackMicros?: number
  includeOpen?: boolean
  /** The timeframe's retention cutoff (from the home's policies): late windows before it are left out. */
  retention?: {fromMicros: number; policyDays: number}
  /** --symbol/--exchange: that market's lookback only (flow-run.ts). */
  market?: MarketScope
}

export interface FlowRun {
  record: RunRecord
  result?: FlowWindowResult
}

/** Runs one flow and records it in the run history: Running, then Completed or Failed. */
export async function runFlow(engine: Engine, history: RunHistory, tf: Timeframe, options: FlowRunOptions): Promise<FlowRun> {
  const spec = TIMEFRAME_SPECS[tf]
  const started = history.start({flow: spec.flow, deployment: spec.deployment, timeframe: tf, trigger: options.trigger, warehouse: engine.target, ...(options.market && {note: `only ${marketText(options.market)}`})})
  try {
    const result = await runFlowWindows(engine, tf, {
      nowMicros: options.nowMicros,
      lookbackMicros: options.lookbackMicros ?? spec.lookbackMicros,
      includeOpen: options.includeOpen,
      retention: options.retention,
      market: options.market,
    })
    const record = history.finish(started, {
      state: 'Completed',
      rangeFrom: formatMicros(result.fromMicros),
      rangeTo: formatMicros(result.toMicros),
      candles: result.candles,
      removed: result.removed,
      trades: result.trades,
      lateWindows: result.lateWindows,
      ...(result.lateBeyondRetention && options.retention && {
        lateBeyondRetention: result.lateBeyondRetention,
        retentionCutoff: formatMicros(options.retention.fromMicros),
        retentionDays: options.retention.policyDays,
      }),
      ...(result.lateSpan && {lateFrom: formatMicros(result.lateSpan.firstMicros), lateTo: formatMicros(result.lateSpan.lastMicros)}),
    })
    return {record, result}
  } catch (error) {
    const message = firstLine((error as Error).message)
    const record = history.finish(started, {state: 'Failed', error: message})
    return {record}
  }
}
