/**
 * Opening a tape: plain text, gzip, or the first .csv entry of a zip, as a stream of bytes with a
 * byte count for progress. The container is told by magic bytes, not by the file name.
 */
import type {Readable} from 'node:stream'

import {createReadStream} from 'node:fs'
import {open, stat} from 'node:fs/promises'
import {createGunzip} from 'node:zlib'
import type {Entry, ZipFile} from 'yauzl'

import yauzl from 'yauzl'

import {BadInputError, UsageError} from '../errors.js'

export type TapeContainer = 'plain' | 'gzip' | 'zip' | 'parquet'

/** The file's size, or the UsageError a user should see for a missing or unreadable file. */
export async function tapeFileSize(file: string): Promise<number> {
  try {
    const info = await stat(file)
    if (info.isDirectory()) throw new UsageError(`${file}: is a directory, not a tape file`, {code: 'bad_file'})
    const handle = await open(file, 'r')
    await handle.close()
    return info.size
  } catch (error) {
    if (error instanceof UsageError) throw error
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new UsageError(`${file}: no such file`, {code: 'no_such_file'})
    if (code === 'EACCES' || code === 'EPERM') throw new UsageError(`${file}: cannot read the file (permission denied)`, {code: 'bad_file'})
    throw new UsageError(`${file}: cannot read the file (${(error as Error).message})`, {code: 'bad_file'})
  }
}

export async function sniffContainer(file: string): Promise<TapeContainer> {
  const handle = await open(file, 'r')
  try {
    const head = Buffer.alloc(4)
    const {bytesRead} = await handle.read(head, 0, 4, 0)
    if (bytesRead >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip'
    if (bytesRead === 4 && head.toString('latin1') === 'PK\u0003\u0004') return 'zip'
    if (bytesRead === 4 && head.toString('latin1') === 'PAR1') return 'parquet'
    return 'plain'
  } finally {
    await handle.close()
  }
}

export interface TapeBytes {
  chunks: AsyncIterable<Buffer>
  /** What progress is measured against: the file size, or the zip entry's uncompressed size. */
  totalBytes: number
  bytesRead(): number
  close(): void
}

const READ_CHUNK = 1 << 20

export async function openTapeBytes(file: string, container: 'plain' | 'gzip' | 'zip', fileSize: number): Promise<TapeBytes> {
  if (container === 'zip') return openZipEntry(file)
  const raw = createReadStream(file, {highWaterMark: READ_CHUNK})
  if (container === 'plain') {
    return {chunks: raw, totalBytes: fileSize, bytesRead: () => raw.bytesRead, close: () => raw.destroy()}
  }

  const gunzip = createGunzip({chunkSize: READ_CHUNK})
  raw.on('error', (error) => gunzip.destroy(error))
  raw.pipe(gunzip)
  return {
    chunks: decompressed(file, gunzip, 'gzip'),
    totalBytes: fileSize,
    bytesRead: () => raw.bytesRead,
    close() {
      raw.destroy()
      gunzip.destroy()
    },
  }
}

async function openZipEntry(file: string): Promise<TapeBytes> {
  let zip: ZipFile
  try {
    zip = await yauzl.openPromise(file, {lazyEntries: true, autoClose: false})
  } catch (error) {
    throw new BadInputError(`${file}: not a readable zip file (${(error as Error).message})`)
  }

  try {
    let entry: Entry | undefined
    for await (const candidate of zip.eachEntry()) {
      if (!candidate.fileName.endsWith('/') && /\.csv$/i.test(candidate.fileName)) {
        entry = candidate
        break
      }
    }

    if (!entry) throw new UsageError(`${file}: the zip holds no .csv file`, {code: 'bad_file'})
    if (entry.isEncrypted()) throw new UsageError(`${file}: ${entry.fileName} in the zip is encrypted`, {code: 'bad_file'})
    const stream = await zip.openReadStreamPromise(entry)
    let count = 0
    const counted = async function* (): AsyncGenerator<Buffer> {
      for await (const chunk of decompressed(file, stream, 'zip')) {
        count += chunk.length
        yield chunk
      }
    }

    return {
      chunks: counted(),
      totalBytes: entry.uncompressedSize,
      bytesRead: () => count,
      close() {
        stream.destroy()
        zip.close()
      },
    }
  } catch (error) {
    zip.close()
    if (error instanceof UsageError) throw error
    throw new BadInputError(`${file}: not a readable zip file (${(error as Error).message})`)
  }
}

/** Decompression errors (a truncated or corrupt file) become one-line BadInputErrors. */
async function* decompressed(file: string, stream: Readable, kind: 'gzip' | 'zip'): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream) yield chunk as Buffer
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') throw error
    throw new BadInputError(`${file}: not a valid ${kind} file (${(error as Error).message})`)
  }
}
