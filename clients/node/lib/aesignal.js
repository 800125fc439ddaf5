'use strict';
// The aesignal API for the Node examples, loaded from proto/ at run time with
// @grpc/proto-loader: no generated code to keep in step with the protos.
//
// Loader options: field names as in the .proto files (keepCase), int64 as
// strings (a JS number cannot hold every int64; convert counts with
// Number()), enums as their value names, unset fields as defaults (message
// fields as null), and the name of the set member for each oneof.

const fs = require('node:fs');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

const PROTO_DIR =
  process.env.AESIGNAL_PROTO_DIR || path.resolve(__dirname, '..', '..', '..', 'proto');

const LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_DIR],
};

const SERVICE_FILES = [
  'aesignal/v1/trial_service.proto',
  'aesignal/v1/ingest_service.proto',
  'aesignal/v1/safety_service.proto',
  'aesignal/v1/signal_service.proto',
];

// aesignal.v1: service client constructors (TrialService, IngestService, ...).
const v1 = grpc.loadPackageDefinition(
  protoLoader.loadSync(SERVICE_FILES, LOADER_OPTIONS)).aesignal.v1;

// Status code names by number (grpc.status maps names to numbers).
const CODE_NAMES = Object.fromEntries(
  Object.entries(grpc.status).map(([name, code]) => [code, name]));

// The connection options of the example programs, for parseArgs: TLS
// verifying the server with --tls-ca FILE (--tls: the system roots), and a
// bearer token from --token-file FILE (its first line) or AESIGNAL_TOKEN.
const CONNECTION_OPTIONS = {
  'tls-ca': { type: 'string' },
  tls: { type: 'boolean', default: false },
  'token-file': { type: 'string' },
};
const CONNECTION_USAGE = '[--tls-ca FILE | --tls] [--token-file FILE]';

// {tls, ca, token} for connect() from parseArgs values; throws on a token
// file that cannot be read or is empty.
function connectionFromArgs(values) {
  let token = (process.env.AESIGNAL_TOKEN || '').trim();
  if (values['token-file'] !== undefined) {
    token = fs.readFileSync(values['token-file'], 'utf8').split('\n')[0].trim();
    if (!token) throw new Error(`--token-file: ${values['token-file']} is empty`);
  }
  return {
    tls: values.tls || values['tls-ca'] !== undefined,
    ca: values['tls-ca'] === undefined ? null : fs.readFileSync(values['tls-ca']),
    token: token || null,
  };
}

// Channel credentials: plaintext (a loopback server without principals), or
// TLS, with the token as "authorization: Bearer TOKEN" on every call. A
// server with principals requires TLS, and a token is never sent in clear.
function credentialsFor({ tls = false, ca = null, token = null } = {}) {
  if (!tls) {
    if (token) throw new Error('a bearer token is sent over TLS only: give --tls-ca FILE (or --tls)');
    return grpc.credentials.createInsecure();
  }
  const channel = grpc.credentials.createSsl(ca);
  if (!token) return channel;
  return grpc.credentials.combineChannelCredentials(channel,
    grpc.credentials.createFromMetadataGenerator((_params, done) => {
      const metadata = new grpc.Metadata();
      metadata.add('authorization', `Bearer ${token}`);
      done(null, metadata);
    }));
}

// One client per service, all on one channel to `target`; `connection` as
// credentialsFor() takes it (default: plaintext).
function connect(target, connection = {}) {
  const credentials = credentialsFor(connection);
  const trials = new v1.TrialService(target, credentials);
  const channelOverride = trials.getChannel();
  const make = (Service) => new Service(target, credentials, { channelOverride });
  return {
    trials,
    ingest: make(v1.IngestService),
    safety: make(v1.SafetyService),
    signals: make(v1.SignalService),
    close: () => channelOverride.close(),
  };
}

// A unary call as a promise: await call(client, 'GetTrial', {name}).
function call(client, method, request, options = {}) {
  return new Promise((resolve, reject) => {
    client[method](request, options, (err, response) => (err ? reject(err) : resolve(response)));
  });
}

// google.rpc.Status and the error detail messages, for decoding the
// grpc-status-details-bin trailer. proto-loader's definitions serialize only
// what services send and receive, so these are read with protobufjs (which
// proto-loader is built on) from the same proto/ directory.
const errorTypes = (() => {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => {
    const inProtoDir = path.join(PROTO_DIR, target);
    return fs.existsSync(inProtoDir) ? inProtoDir : target;
  };
  root.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'],
    { keepCase: true });
  root.resolveAll();
  return root;
})();

// The API's message types, for checking input files strictly: JSON.parse and
// proto-loader drop a field they do not know and turn an enum name they do
// not know into the default, so a misspelt "serius" or
// "RELATEDNESS_POSSIBL" would be stored as not serious / unspecified.
const messageTypes = (() => {
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => path.join(PROTO_DIR, target);
  root.loadSync(['aesignal/v1/report.proto'], { keepCase: true });
  root.resolveAll();
  return root;
})();

const INTEGER_TYPES = new Set(['int32', 'int64', 'uint32', 'uint64', 'sint32',
  'sint64', 'fixed32', 'fixed64', 'sfixed32', 'sfixed64']);

// Why `value` cannot be `field`'s value in the proto JSON form (enums by
// value name, 64-bit integers also as strings), or null.
function valueProblem(field, value, where) {
  const type = field.resolvedType;
  if (type instanceof protobuf.Enum) {
    if (typeof value === 'string' ? Object.hasOwn(type.values, value)
      : Object.values(type.values).includes(value)) return null;
    return `${where}: '${value}' is not one of ${Object.keys(type.values).join(', ')}`;
  }
  if (type instanceof protobuf.Type) return messageProblem(type, value, where);
  const ok = INTEGER_TYPES.has(field.type)
    ? Number.isInteger(value) || (typeof value === 'string' && /^-?\d+$/.test(value))
    : field.type === 'bool' ? typeof value === 'boolean'
      : field.type === 'string' ? typeof value === 'string'
        : field.type === 'double' || field.type === 'float' ? typeof value === 'number'
          : true;
  return ok ? null : `${where}: ${JSON.stringify(value)} is not a ${field.type}`;
}

function messageProblem(type, object, where) {
  if (object === null || typeof object !== 'object' || Array.isArray(object)) {
    return `${where || type.name}: expected an object (${type.name})`;
  }
  for (const [key, value] of Object.entries(object)) {
    const at = where ? `${where}.${key}` : key;
    const field = type.fields[key];
    if (!field) {
      const named = Object.values(type.fields).find((f) => f.name.replace(
        /_([a-z0-9])/g, (m, c) => c.toUpperCase()) === key);
      return named ? `${at}: use the .proto field name ${named.name}`
        : `${at}: ${type.name} has no such field`;
    }
    if (value === null) continue; // unset, as proto JSON allows
    if (field.repeated && !Array.isArray(value)) return `${at}: expected a list`;
    for (const item of field.repeated ? value : [value]) {
      const problem = valueProblem(field, item, at);
      if (problem) return problem;
    }
  }
  return null;
}

// Why `object` (parsed JSON) is not a `typeName` (e.g.
// 'aesignal.v1.AdverseEventReport') with the .proto field names and enums by
// value name, or null. Values are checked only for their type; the server
// checks the rest.
function jsonProblem(typeName, object) {
  return messageProblem(messageTypes.lookupType(typeName), object, '');
}

const TO_OBJECT = { longs: String, enums: String, defaults: true };

// The decoded google.rpc.Status of a gRPC error: {code, message, details},
// each detail {type: 'google.rpc.BadRequest', ...its fields}; null if the
// error carries none.
function statusOf(error) {
  const values = error.metadata ? error.metadata.get('grpc-status-details-bin') : [];
  if (!values.length) return null;
  const Status = errorTypes.lookupType('google.rpc.Status');
  const status = Status.toObject(Status.decode(values[0]), TO_OBJECT);
  status.details = status.details.map((any) => {
    const type = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
    let Detail;
    try {
      Detail = errorTypes.lookupType(type);
    } catch {
      return { type }; // a detail this client does not know
    }
    return { type, ...Detail.toObject(Detail.decode(any.value), TO_OBJECT) };
  });
  return status;
}

// [{field, reason}] of a REJECTED ReportResult: every field violation of its
// `error` (the first problem of each group of checks), else its one field
// and reason.
function rejectedFields(result) {
  const BadRequest = errorTypes.lookupType('google.rpc.BadRequest');
  const details = (result.error && result.error.details) || [];
  const fields = details
    .filter((any) => any.type_url.endsWith('/google.rpc.BadRequest'))
    .flatMap((any) => BadRequest.toObject(BadRequest.decode(any.value), TO_OBJECT)
      .field_violations.map((v) => ({ field: v.field, reason: v.description })));
  return fields.length ? fields : [{ field: result.field, reason: result.reason }];
}

// [{field, description}] from the error's google.rpc.BadRequest details.
function fieldViolations(error) {
  const status = statusOf(error);
  if (!status) return [];
  return status.details
    .filter((d) => d.type === 'google.rpc.BadRequest')
    .flatMap((d) => d.field_violations);
}

// The error's google.rpc.ErrorInfo ({reason, domain, metadata}), or null.
function errorInfo(error) {
  const status = statusOf(error);
  const info = status && status.details.find((d) => d.type === 'google.rpc.ErrorInfo');
  return info || null;
}

// What a person running an example needs to fix the request: one line per
// field violation, else the status message.
function describeError(error) {
  const violations = fieldViolations(error);
  const lines = violations.length
    ? violations.map((v) => `  ${v.field}: ${v.description}`)
    : [`  ${error.details}`];
  return `${CODE_NAMES[error.code] || error.code}:\n${lines.join('\n')}`;
}

module.exports = {
  grpc,
  v1,
  PROTO_DIR,
  CODE_NAMES,
  CONNECTION_OPTIONS,
  CONNECTION_USAGE,
  connectionFromArgs,
  connect,
  call,
  statusOf,
  fieldViolations,
  errorInfo,
  describeError,
  jsonProblem,
  rejectedFields,
};
