#!/usr/bin/env node
// Runs the compiled commands with development settings (stack traces, no manifest cache).
import {execute} from '@oclif/core'

await execute({development: true, dir: import.meta.url})
