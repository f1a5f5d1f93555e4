#!/usr/bin/env node
// tests/tools/iceberg_rest/walk.mjs — walks an Iceberg REST catalog with iceberg-js (an Iceberg
// REST client that shares no code with Watershed) and prints what it saw as one JSON object, so a
// test can check that a catalog endpoint answers the way other clients expect.
//
//   node tests/tools/iceberg_rest/walk.mjs BASE_URL [TOKEN] [WAREHOUSE]
//
// BASE_URL is the catalog root, without /v1: iceberg-js requests BASE_URL/v1/config,
// BASE_URL/v1/namespaces, ... (a path in BASE_URL is kept: http://h:p/iceberg -> /iceberg/v1/...).
// TOKEN, when given, is sent as `Authorization: Bearer TOKEN`; without it no Authorization header
// is sent. WAREHOUSE, when given, is passed to iceberg-js, which then sends
// GET v1/config?warehouse=WAREHOUSE and routes every other request under v1/<overrides.prefix>
// (or v1/WAREHOUSE when the config has no prefix). Without WAREHOUSE iceberg-js ignores any prefix
// in the config; this script says so on stderr.
//
// It fetches the config, lists the namespaces (top level, every page), loads each namespace and
// lists its tables (every page), loads each table and asks whether it exists (HEAD), then prints:
//   {"namespaces": [["ns"], ...],
//    "tables": [{"namespace": ["ns"], "name": "t", "metadata_location": "...", "format_version": 2,
//                "current_snapshot_id": N, "snapshots": N, "schema_fields": ["col", ...],
//                "exists": true}, ...]}
// current_snapshot_id is written with the exact digits the server sent (ids above 2^53 are not
// rounded), or null when the metadata has none. Any error: a message on stderr (with the HTTP
// status and Iceberg error type when there was a response) and exit status 1; bad arguments: 2.
// ICEBERG_REST_WALK_DEBUG=1 logs each HTTP request with its status to stderr, and stack traces.
// See README.md beside this file for what iceberg-js 1.0.0 requests and expects.

import { IcebergError, IcebergRestCatalog, getCurrentSchema } from 'iceberg-js'

const USAGE = 'usage: node walk.mjs BASE_URL [TOKEN] [WAREHOUSE]'
const DEBUG = process.env.ICEBERG_REST_WALK_DEBUG === '1'

class UsageError extends Error {}

// A 2xx response iceberg-js would not parse: it parses a body only when Content-Type contains
// application/json, and otherwise silently treats e.g. a namespace list as empty.
class NotJsonError extends Error {}

function parseArgs(argv) {
  if (argv.length < 1 || argv.length > 3 || argv[0] === '--help' || argv[0] === '-h') {
    throw new UsageError('')
  }
  const [baseUrl, token, warehouse] = argv
  let url
  try {
    url = new URL(baseUrl)
  } catch {
    throw new UsageError(`BASE_URL is not a URL: ${baseUrl}`)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`BASE_URL must be http:// or https://, not ${baseUrl}`)
  }
  return { baseUrl, token, warehouse }
}

// The raw text of the last 2xx GET response body, for the digits of current-snapshot-id
// (JSON.parse turns ids above 2^53 into rounded doubles).
let lastBody = ''

async function checkingFetch(url, init) {
  const method = init?.method ?? 'GET'
  let res
  try {
    res = await globalThis.fetch(url, init)
  } catch (err) {
    if (DEBUG) console.error(`walk.mjs: ${method} ${url} -> ${err.cause?.code ?? err.message}`)
    throw err
  }
  if (DEBUG) console.error(`walk.mjs: ${method} ${url} -> ${res.status}`)
  if (res.ok && method !== 'HEAD') {
    const type = res.headers.get('content-type') ?? ''
    if (!type.includes('application/json')) {
      throw new NotJsonError(
        `${method} ${url}: HTTP ${res.status} with Content-Type '${type}', not application/json ` +
          '(iceberg-js would not parse the body)'
      )
    }
    lastBody = await res.clone().text()
  }
  return res
}

function describe(err) {
  if (err instanceof IcebergError) {
    if (err.details instanceof NotJsonError) return err.details.message
    if (err.status === 0) {
      const cause = err.details?.cause
      return cause ? `${err.message} (${cause.code ?? cause.message})` : err.message
    }
    const type = err.icebergType ? ` ${err.icebergType}` : ''
    return `HTTP ${err.status}${type}: ${err.message}`
  }
  return err instanceof Error ? err.message : String(err)
}

// Runs one step; an error names the step.
async function step(what, fn) {
  try {
    return await fn()
  } catch (err) {
    const wrapped = new Error(`${what}: ${describe(err)}`)
    wrapped.cause = err
    throw wrapped
  }
}

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v)
}

// The current-snapshot-id of the body just read, as a BigInt with the server's digits, when the
// body names exactly one and it agrees with the parsed value; else the parsed value.
function exactSnapshotId(parsed) {
  if (parsed === undefined || parsed === null) return null
  if (typeof parsed !== 'number' || !Number.isInteger(parsed)) {
    throw new Error(`current-snapshot-id is not an integer: ${JSON.stringify(parsed)}`)
  }
  const found = [...lastBody.matchAll(/"current-snapshot-id"\s*:\s*(-?\d+)/g)]
  if (found.length === 1 && Number(found[0][1]) === parsed) return BigInt(found[0][1])
  return parsed
}

function toJson(value) {
  const text = JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? `@@bigint:${v}@@` : v))
  return text.replace(/"@@bigint:(-?\d+)@@"/g, '$1')
}

async function allPages(fetchPage, key) {
  const items = []
  const seen = new Set()
  let pageToken
  for (;;) {
    const page = await fetchPage(pageToken)
    if (!Array.isArray(page[key])) throw new Error(`response has no ${key} list`)
    items.push(...page[key])
    pageToken = page.nextPageToken
    if (pageToken === undefined || pageToken === null || pageToken === '') return items
    if (seen.has(pageToken)) throw new Error(`server repeated next-page-token ${pageToken}`)
    seen.add(pageToken)
  }
}

async function walk({ baseUrl, token, warehouse }) {
  const catalog = new IcebergRestCatalog({
    baseUrl,
    ...(warehouse !== undefined ? { warehouse } : {}),
    auth: token !== undefined ? { type: 'bearer', token } : { type: 'none' },
    fetch: checkingFetch,
  })

  const config = await step('loadConfig', () => catalog.loadConfig())
  if (!isObject(config)) throw new Error('loadConfig: the config response is not a JSON object')
  const prefix = config.overrides?.prefix ?? config.defaults?.prefix
  if (prefix && warehouse === undefined) {
    console.error(
      `walk.mjs: warning: the config names prefix '${prefix}', which iceberg-js uses only when a ` +
        'WAREHOUSE is given; requesting BASE_URL/v1/namespaces without it'
    )
  }

  const namespaces = await step('listNamespaces', () =>
    allPages(pageToken => catalog.listNamespaces(pageToken ? { pageToken } : {}), 'namespaces')
  )
  const out = { namespaces: namespaces.map(n => n.namespace), tables: [] }

  for (const ns of out.namespaces) {
    if (!Array.isArray(ns) || !ns.every(p => typeof p === 'string')) {
      throw new Error(`listNamespaces: a namespace is not a list of strings: ${JSON.stringify(ns)}`)
    }
    const where = JSON.stringify(ns)
    const nsMeta = await step(`loadNamespaceMetadata(${where})`, () =>
      catalog.loadNamespaceMetadata({ namespace: ns })
    )
    if (!isObject(nsMeta.properties)) {
      throw new Error(`loadNamespaceMetadata(${where}): properties is not an object`)
    }
    const ids = await step(`listTables(${where})`, () =>
      allPages(
        pageToken => catalog.listTables({ namespace: ns }, pageToken ? { pageToken } : {}),
        'identifiers'
      )
    )
    for (const id of ids) {
      if (!isObject(id) || !Array.isArray(id.namespace) || typeof id.name !== 'string') {
        throw new Error(`listTables(${where}): not a table identifier: ${JSON.stringify(id)}`)
      }
      const what = `${JSON.stringify(id.namespace)}.${id.name}`
      const result = await step(`loadTable(${what})`, () =>
        catalog.loadTableResult({ namespace: id.namespace, name: id.name })
      )
      const metadata = result?.metadata
      if (!isObject(metadata)) throw new Error(`loadTable(${what}): the response has no metadata object`)
      const currentSnapshotId = await step(`loadTable(${what})`, async () =>
        exactSnapshotId(metadata['current-snapshot-id'])
      )
      const schema =
        (Array.isArray(metadata.schemas) ? getCurrentSchema(metadata) : undefined) ?? metadata.schema
      if (!isObject(schema) || !Array.isArray(schema.fields)) {
        throw new Error(
          `loadTable(${what}): no schema with current-schema-id ${metadata['current-schema-id']}`
        )
      }
      const exists = await step(`tableExists(${what})`, () =>
        catalog.tableExists({ namespace: id.namespace, name: id.name })
      )
      out.tables.push({
        namespace: id.namespace,
        name: id.name,
        metadata_location: result['metadata-location'] ?? null,
        format_version: metadata['format-version'] ?? null,
        current_snapshot_id: currentSnapshotId,
        snapshots: Array.isArray(metadata.snapshots) ? metadata.snapshots.length : 0,
        schema_fields: schema.fields.map(f => f.name),
        exists,
      })
    }
  }
  return out
}

try {
  const args = parseArgs(process.argv.slice(2))
  const out = await walk(args)
  process.stdout.write(toJson(out) + '\n')
} catch (err) {
  if (err instanceof UsageError) {
    if (err.message) console.error(`walk.mjs: ${err.message}`)
    console.error(USAGE)
    process.exitCode = 2
  } else {
    console.error(`walk.mjs: ${err.message}`)
    if (DEBUG) console.error(err.cause?.stack ?? err.stack)
    process.exitCode = 1
  }
}
