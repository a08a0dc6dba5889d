import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_JSON_MAX_DEPTH,
  isJsonObject,
  parseStrictJson,
} from '../../src/core/strict-json.js';

const malformed = { name: 'SignetError', code: 'MALFORMED_INPUT' };

describe('parseStrictJson', () => {
  it('parses what JSON.parse parses, to the same plain values', () => {
    const docs = [
      '{"critical":{"identity":{"docker-reference":"a/b"}},"optional":null}',
      '[1,-2.5,3e10,0.000001,1E-7,true,false,null,"x"]',
      ' \t\r\n{"a" : [ {} , [] , "" ] }\n',
      '"\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\\\/\\b\\f\\r"',
      '{"1":1,"b":2,"a":3}',
      '"snowman ☃ and 😀 raw"',
      '-0',
      '123456789012345678901234567890',
    ];
    for (const d of docs) {
      assert.deepEqual(parseStrictJson(d), JSON.parse(d), d);
      assert.deepEqual(parseStrictJson(Buffer.from(d)), JSON.parse(d), d);
    }
  });

  it('rejects a duplicate key, at any depth', () => {
    for (const d of [
      '{"a":1,"a":2}',
      '{"critical":{"image":{"docker-manifest-digest":"x","docker-manifest-digest":"y"}}}',
      '[{"k":1},{"k":1,"k":1}]',
      '{"\\u0061":1,"a":2}', // same key once escapes are decoded
    ]) {
      assert.throws(() => parseStrictJson(d), malformed, d);
    }
  });

  it('keeps keys that differ only in case (Go decoding decides what they mean)', () => {
    const v = parseStrictJson('{"critical":1,"Critical":2}');
    assert.deepEqual(v, { critical: 1, Critical: 2 });
  });

  it('stores a "__proto__" key as data, never as the prototype', () => {
    const v = parseStrictJson('{"__proto__":{"polluted":true}}');
    assert.ok(isJsonObject(v));
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.deepEqual(Object.keys(v), ['__proto__']);
    assert.equal((v as Record<string, unknown>)['polluted'], undefined);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  it('rejects nesting deeper than the limit, without overflowing the stack', () => {
    const ok =
      '['.repeat(DEFAULT_JSON_MAX_DEPTH) + ']'.repeat(DEFAULT_JSON_MAX_DEPTH);
    assert.doesNotThrow(() => parseStrictJson(ok));
    const deep =
      '['.repeat(DEFAULT_JSON_MAX_DEPTH + 1) +
      ']'.repeat(DEFAULT_JSON_MAX_DEPTH + 1);
    assert.throws(() => parseStrictJson(deep), malformed);
    const hostile = '{"a":'.repeat(1_000_000) + '1' + '}'.repeat(1_000_000);
    assert.throws(() => parseStrictJson(hostile, { maxBytes: 1e8 }), malformed);
    assert.throws(() => parseStrictJson('[[[1]]]', { maxDepth: 2 }), malformed);
  });

  it('rejects input over the size limit before parsing', () => {
    const big = Buffer.from(`"${'a'.repeat(100)}"`);
    assert.throws(() => parseStrictJson(big, { maxBytes: 50 }), malformed);
    assert.throws(
      () => parseStrictJson(big.toString(), { maxBytes: 50 }),
      malformed
    );
    assert.equal(parseStrictJson(big, { maxBytes: 102 }), 'a'.repeat(100));
    // Multi-byte characters count in UTF-8 bytes.
    assert.throws(() => parseStrictJson('"☃☃☃☃"', { maxBytes: 13 }), malformed);
    assert.equal(parseStrictJson('"☃☃☃☃"', { maxBytes: 14 }), '☃☃☃☃');
  });

  it('rejects everything RFC 8259 does not allow', () => {
    for (const d of [
      '',
      ' ',
      '{',
      '{"a":1,}',
      '[1,]',
      '[01]',
      '[1.]',
      '[.5]',
      '[+1]',
      '[NaN]',
      '[Infinity]',
      '[1e999]',
      "{'a':1}",
      '{a:1}',
      '{"a" 1}',
      '"tab\there"',
      '"nl\nhere"',
      '"\\x41"',
      '"\\u12"',
      '"unterminated',
      '{"a":1} {"b":2}',
      '{"a":1}x',
      '// c\n{}',
      'tru',
      'nul',
      '[1 2]',
      '\u00a0{}',
    ]) {
      assert.throws(() => parseStrictJson(d), malformed, JSON.stringify(d));
    }
  });

  it('rejects lone surrogates, escaped or raw', () => {
    assert.throws(() => parseStrictJson('"\\ud800"'), malformed);
    assert.throws(() => parseStrictJson('"\\udc00x"'), malformed);
    assert.throws(() => parseStrictJson('"\\ud800\\u0041"'), malformed);
    assert.throws(() => parseStrictJson('"\ud800"'), malformed);
  });

  it('rejects invalid UTF-8', () => {
    for (const bytes of [
      [0x22, 0xff, 0x22],
      [0x22, 0xc3, 0x22], // truncated sequence
      [0x22, 0xc0, 0xaf, 0x22], // overlong '/'
      [0x22, 0xed, 0xa0, 0x80, 0x22], // encoded surrogate
    ]) {
      assert.throws(() => parseStrictJson(Uint8Array.from(bytes)), malformed);
    }
  });

  it('names the document and the offset in its message', () => {
    assert.throws(
      () => parseStrictJson('{"a":1,"a":2}', { what: 'signature payload' }),
      (e: Error) =>
        e.message.startsWith('signature payload: invalid JSON at offset 7') &&
        e.message.includes('duplicate key "a"')
    );
  });
});
