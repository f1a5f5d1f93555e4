#!/usr/bin/env node
// tests/tools/icebird/read.mjs — reads a local Iceberg table with icebird, an Iceberg reader that
// shares no code with Watershed, and prints its rows as JSON lines. Tests use it to check that
// what our Iceberg export writes is readable by another engine.
//
//   node tests/tools/icebird/read.mjs --table-dir /abs/table [--metadata FILE] [--snapshot ID]
//                                     [--allow-dir /abs/other/dir]...
//
// icebird reads over fetch(), so this script serves the files over HTTP on 127.0.0.1 (an
// ephemeral port; GET and HEAD, with Range) and wraps globalThis.fetch so that the table's
// locations (file:///abs/..., file:/abs/..., /abs/...; anything under the metadata's `location`
// is rebased onto --table-dir, so a copied table reads too) go to that server. Any other URL is
// refused: nothing leaves the machine. Only files under --table-dir (and --allow-dir) are served.
//
// ICEBIRD_READ_DEBUG=1 logs each HTTP request to stderr, and stack traces with errors.
//
// Output: one JSON object per row on stdout, keys in schema order, rows in manifest-list, manifest
// and file order. BigInt -> string of digits, timestamp -> ISO string (milliseconds, Z), date ->
// YYYY-MM-DD, missing/null -> null, bytes -> base64, NaN/±Infinity -> "NaN"/"Infinity"/
// "-Infinity". Errors go to stderr, exit status 1 (2 for bad arguments). Locations are taken
// literally (not percent-decoded).
// See README.md beside this file for what icebird supports and what a writer must produce.

import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { icebergRead } from 'icebird'

const USAGE =
  'usage: node read.mjs --table-dir /abs/table' +
  ' [--metadata /abs/table/metadata/NNNNN-uuid.metadata.json]' +
  ' [--snapshot SNAPSHOT_ID] [--allow-dir /abs/dir]...'

class UsageError extends Error {}

function parseArgs(argv) {
  const args = { allowDirs: [] }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const value = argv[i + 1]
    const take = () => {
      if (value === undefined || value.startsWith('--')) {
        throw new UsageError(`${flag} needs a value`)
      }
      i++
      return value
    }
    if (flag === '--table-dir') args.tableDir = take()
    else if (flag === '--metadata') args.metadata = take()
    else if (flag === '--snapshot') args.snapshot = take()
    else if (flag === '--allow-dir') args.allowDirs.push(take())
    else if (flag === '--help' || flag === '-h') throw new UsageError('')
    else throw new UsageError(`unknown argument ${flag}`)
  }
  if (!args.tableDir) throw new UsageError('--table-dir is required')
  if (!path.isAbsolute(args.tableDir)) throw new UsageError('--table-dir must be an absolute path')
  if (args.snapshot !== undefined && !/^-?\d+$/.test(args.snapshot)) {
    throw new UsageError(`--snapshot must be an integer snapshot id, not ${args.snapshot}`)
  }
  return args
}

// The version number in a metadata file name: vN.metadata.json (Hadoop tables) or
// NNNNN-uuid.metadata.json (catalog tables); undefined for other names.
function metadataVersion(name) {
  const m = /^v(\d+)\.metadata\.json$/.exec(name) ?? /^(\d+)-.*\.metadata\.json$/.exec(name)
  return m ? Number(m[1]) : undefined
}

// The current metadata file: version-hint.text when present (a number N, naming vN.metadata.json
// or N-uuid.metadata.json, or a file name with or without .metadata.json), else the highest-numbered *.metadata.json.
function findMetadataFile(tableDir) {
  const dir = path.join(tableDir, 'metadata')
  if (!fs.existsSync(dir)) throw new Error(`${dir} does not exist`)
  const names = fs.readdirSync(dir).filter(n => n.endsWith('.metadata.json'))
  const hintFile = path.join(dir, 'version-hint.text')
  if (fs.existsSync(hintFile)) {
    const hint = fs.readFileSync(hintFile, 'utf8').trim()
    if (/^\d+$/.test(hint)) {
      const matches = names.filter(n => metadataVersion(n) === Number(hint))
      if (matches.length === 1) return path.join(dir, matches[0])
      throw new Error(
        `${hintFile} says ${hint}, which names ${matches.length} metadata files in ${dir}`)
    }
    if (names.includes(path.basename(hint))) return path.join(dir, path.basename(hint))
    // Watershed's export writes the file name without .metadata.json (docs/formats/iceberg.md).
    const named = `${path.basename(hint)}.metadata.json`
    if (names.includes(named)) return path.join(dir, named)
    throw new Error(`${hintFile} holds '${hint}', which names no metadata file in ${dir}`)
  }
  const versioned = names.filter(n => metadataVersion(n) !== undefined)
  if (versioned.length === 0) {
    throw new Error(`no vN.metadata.json or NNNNN-*.metadata.json in ${dir}`)
  }
  versioned.sort((a, b) => metadataVersion(a) - metadataVersion(b))
  const latest = versioned[versioned.length - 1]
  const tied = versioned.filter(n => metadataVersion(n) === metadataVersion(latest))
  if (tied.length > 1) {
    throw new Error(`${dir}: several metadata files have the highest version: ${tied.join(', ')}`)
  }
  return path.join(dir, latest)
}

// A location as a local absolute path, or undefined when it is not a local file location.
function localPath(location) {
  let p
  if (location.startsWith('file://')) {
    p = location.slice('file://'.length)
    if (p.startsWith('localhost/')) p = p.slice('localhost'.length)
  } else if (location.startsWith('file:/')) {
    p = location.slice('file:'.length)
  } else if (location.startsWith('/')) {
    p = location
  } else {
    return undefined
  }
  return path.normalize(p)
}

function isUnder(file, dir) {
  const rel = path.relative(dir, file)
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))
}

// Serves regular files under `roots` by absolute path (the URL path is the file's path,
// each segment percent-encoded): GET and HEAD, one byte range per request.
export function startServer(roots) {
  const debug = process.env.ICEBIRD_READ_DEBUG === '1'
  const server = http.createServer((req, res) => {
    if (debug) {
      res.on('finish', () => process.stderr.write(
        `read.mjs: ${req.method} ${decodeURIComponent(req.url)} ${req.headers.range ?? ''}` +
        ` -> ${res.statusCode}\n`))
    }
    const fail = (status, message) => {
      res.writeHead(status, { 'Content-Type': 'text/plain' })
      res.end(req.method === 'HEAD' ? undefined : message + '\n')
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return fail(405, 'method not allowed')
    let file
    try {
      const urlPath = new URL(req.url, 'http://127.0.0.1').pathname
      file = path.normalize(urlPath.split('/').map(decodeURIComponent).join('/'))
    } catch {
      return fail(400, 'bad path')
    }
    let real
    try {
      real = fs.realpathSync(file)
    } catch {
      return fail(404, `${file}: no such file`)
    }
    if (!roots.some(r => isUnder(real, r))) return fail(403, `${file} is outside the served dirs`)
    const stat = fs.statSync(real)
    if (!stat.isFile()) return fail(404, `${file}: not a regular file`)
    const size = stat.size
    let start = 0
    let end = size - 1
    let status = 200
    const headers = { 'Accept-Ranges': 'bytes', 'Content-Type': 'application/octet-stream' }
    const range = req.headers.range
    if (range) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim())
      if (!m || (m[1] === '' && m[2] === '')) {
        // Several ranges or a malformed header: answer with the whole file (allowed by RFC 9110).
      } else {
        if (m[1] === '') {
          start = Math.max(0, size - Number(m[2]))
        } else {
          start = Number(m[1])
          if (m[2] !== '') end = Math.min(Number(m[2]), size - 1)
        }
        if (start >= size || start > end) {
          res.writeHead(416, { 'Content-Range': `bytes */${size}` })
          return res.end()
        }
        status = 206
        headers['Content-Range'] = `bytes ${start}-${end}/${size}`
      }
    }
    headers['Content-Length'] = String(size === 0 ? 0 : end - start + 1)
    res.writeHead(status, headers)
    if (req.method === 'HEAD' || size === 0) return res.end()
    fs.createReadStream(real, { start, end }).on('error', err => res.destroy(err)).pipe(res)
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve(server))
  })
}

// JSON.stringify replacer for icebird's (hyparquet's) values (Dates are ISO strings by then).
function jsonValue(_key, value) {
  if (value === undefined) return null
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value)
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  return value
}

async function main() {
  const args = parseArgs(process.argv.slice(2))
  const tableDir = fs.realpathSync(args.tableDir)
  const roots = [tableDir, ...args.allowDirs.map(d => fs.realpathSync(d))]

  let metadataFile = args.metadata
  if (metadataFile && !path.isAbsolute(metadataFile)) {
    metadataFile = path.join(tableDir, 'metadata', metadataFile)
  }
  metadataFile ??= findMetadataFile(tableDir)
  let metadata
  try {
    metadata = JSON.parse(fs.readFileSync(metadataFile, 'utf8'))
  } catch (err) {
    throw new Error(`${metadataFile}: ${err.message}`)
  }
  if (metadata['format-version'] !== 1 && metadata['format-version'] !== 2) {
    throw new Error(
      `${metadataFile}: format-version ${metadata['format-version']} (icebird reads 1 and 2)`)
  }

  if (args.snapshot !== undefined) {
    // JSON numbers are doubles here: ids above 2^53 compare after rounding, so check that the
    // rounded id names one snapshot only.
    const wanted = Number(args.snapshot)
    const found = (metadata.snapshots ?? []).filter(s => s['snapshot-id'] === wanted)
    if (found.length === 0) throw new Error(`${metadataFile}: no snapshot ${args.snapshot}`)
    if (found.length > 1) {
      throw new Error(`${metadataFile}: snapshot id ${args.snapshot} is ambiguous as a double`)
    }
    // icebird reads the snapshot named by current-snapshot-id, with current-schema-id's schema;
    // time travel reads a snapshot with the schema it was written with.
    metadata['current-snapshot-id'] = found[0]['snapshot-id']
    if (found[0]['schema-id'] !== undefined) metadata['current-schema-id'] = found[0]['schema-id']
  }
  const current = metadata['current-snapshot-id']
  if (current === undefined || current === null || current === -1) return // no snapshot: no rows

  // Locations under the table's own `location` are rebased onto --table-dir.
  const tableLocation = metadata.location ? localPath(metadata.location) : undefined
  const server = await startServer(roots)
  const base = `http://127.0.0.1:${server.address().port}`
  const realFetch = globalThis.fetch
  globalThis.fetch = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    let file = localPath(url)
    if (file === undefined) throw new Error(`refusing to fetch ${url}: not a local file location`)
    if (tableLocation && isUnder(file, tableLocation)) {
      file = path.join(tableDir, path.relative(tableLocation, file))
    }
    if (!roots.some(r => isUnder(file, r))) {
      throw new Error(`${url} is outside --table-dir ${tableDir} (pass --allow-dir to read it)`)
    }
    const served = base + file.split('/').map(encodeURIComponent).join('/')
    const res = await realFetch(served, init)
    if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${(await res.text()).trim()}`)
    return res
  }

  try {
    let rows
    try {
      rows = await icebergRead({ tableUrl: base, metadata })
    } catch (err) {
      // icebird refuses a snapshot without data files; such a snapshot has no rows.
      if (/No data manifest files found/.test(err.message)) rows = []
      else throw err
    }
    // Iceberg `date` columns arrive as Date objects at midnight UTC: print them as YYYY-MM-DD.
    const schema = metadata.schemas?.find(s => s['schema-id'] === metadata['current-schema-id'])
    const dateColumns = (schema?.fields ?? []).filter(f => f.type === 'date').map(f => f.name)
    let out = ''
    for (const row of rows) {
      for (const name of dateColumns) {
        const v = row[name]
        if (v instanceof Date && !isNaN(v)) row[name] = v.toISOString().split('T')[0]
      }
      out += JSON.stringify(row, jsonValue) + '\n'
      if (out.length > 1 << 20) {
        process.stdout.write(out)
        out = ''
      }
    }
    process.stdout.write(out)
  } finally {
    globalThis.fetch = realFetch
    server.closeAllConnections()
    server.close()
  }
}

function fail(err) {
  if (err instanceof UsageError) {
    if (err.message) process.stderr.write(`read.mjs: ${err.message}\n`)
    process.stderr.write(USAGE + '\n')
    process.exitCode = 2
  } else {
    const detail = process.env.ICEBIRD_READ_DEBUG === '1' ? err?.stack : err?.message
    process.stderr.write(`read.mjs: ${detail ?? err}\n`)
    process.exitCode = 1
  }
}

// Run as a script; importing the module (to test startServer, say) runs nothing.
const isScript =
  process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)
if (isScript) main().catch(fail)
