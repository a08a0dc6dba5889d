import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseWwwAuthenticate,
  type Challenge,
} from '../../src/oci/challenge.js';

interface Case {
  name: string;
  in: string | string[];
  out: Challenge[];
}

const cases: Case[] = [
  {
    name: 'Docker Hub bearer with a comma inside the quoted scope',
    in: 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"',
    out: [
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:samalba/my-app:pull,push',
        },
      },
    ],
  },
  {
    name: 'ECR basic with service',
    in: 'Basic realm="https://111111111111.dkr.ecr.us-east-1.amazonaws.com/",service="ecr.amazonaws.com"',
    out: [
      {
        scheme: 'basic',
        params: {
          realm: 'https://111111111111.dkr.ecr.us-east-1.amazonaws.com/',
          service: 'ecr.amazonaws.com',
        },
      },
    ],
  },
  {
    name: 'Nexus upper-case BASIC with spaces in the realm',
    in: 'BASIC realm="Sonatype Nexus Repository Manager"',
    out: [
      {
        scheme: 'basic',
        params: { realm: 'Sonatype Nexus Repository Manager' },
      },
    ],
  },
  {
    name: 'mixed-case scheme and parameter names',
    in: 'bEaReR Realm="https://r/t", SERVICE="svc"',
    out: [
      { scheme: 'bearer', params: { realm: 'https://r/t', service: 'svc' } },
    ],
  },
  {
    name: 'two challenges in one header',
    in: 'Basic realm="simple", Bearer realm="https://t/token",service="s"',
    out: [
      { scheme: 'basic', params: { realm: 'simple' } },
      { scheme: 'bearer', params: { realm: 'https://t/token', service: 's' } },
    ],
  },
  {
    name: 'several headers, order kept',
    in: ['Negotiate', 'Basic realm="r"', 'Bearer realm="https://t/"'],
    out: [
      { scheme: 'negotiate', params: {} },
      { scheme: 'basic', params: { realm: 'r' } },
      { scheme: 'bearer', params: { realm: 'https://t/' } },
    ],
  },
  {
    name: 'a bare scheme followed by another challenge',
    in: 'Negotiate, Basic realm="x"',
    out: [
      { scheme: 'negotiate', params: {} },
      { scheme: 'basic', params: { realm: 'x' } },
    ],
  },
  {
    name: 'backslash escapes in quoted values',
    in: 'Bearer realm="a \\"quoted\\" \\\\ realm",error="x\\,y"',
    out: [
      {
        scheme: 'bearer',
        params: { realm: 'a "quoted" \\ realm', error: 'x,y' },
      },
    ],
  },
  {
    name: 'unquoted token values',
    in: 'Bearer realm=simple, error=invalid_token',
    out: [
      { scheme: 'bearer', params: { realm: 'simple', error: 'invalid_token' } },
    ],
  },
  {
    name: 'unquoted URL value (outside token chars, accepted leniently)',
    in: 'Bearer realm=https://auth.example.com/token?x=1,service=reg',
    out: [
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.example.com/token?x=1', service: 'reg' },
      },
    ],
  },
  {
    name: 'whitespace around "=" and commas, empty list elements',
    in: ' ,  Bearer   realm = "r" ,  , service =  s  ,',
    out: [{ scheme: 'bearer', params: { realm: 'r', service: 's' } }],
  },
  {
    name: 'tabs as whitespace',
    in: 'Bearer\trealm="r",\tscope="a b"',
    out: [{ scheme: 'bearer', params: { realm: 'r', scope: 'a b' } }],
  },
  {
    name: 'token68 with padding',
    in: 'Negotiate YIIBnQYGKwYBBQUCoIIBkTCCAY2g==',
    out: [
      {
        scheme: 'negotiate',
        params: {},
        token68: 'YIIBnQYGKwYBBQUCoIIBkTCCAY2g==',
      },
    ],
  },
  {
    name: 'token68 with a single "=" then another challenge',
    in: 'Negotiate abc=, Basic realm="x"',
    out: [
      { scheme: 'negotiate', params: {}, token68: 'abc=' },
      { scheme: 'basic', params: { realm: 'x' } },
    ],
  },
  {
    name: 'token68 without padding',
    in: 'NTLM TlRMTVNTUAACAAAA/+.~_-',
    out: [{ scheme: 'ntlm', params: {}, token68: 'TlRMTVNTUAACAAAA/+.~_-' }],
  },
  {
    name: 'empty quoted value',
    in: 'Bearer realm="",service="s"',
    out: [{ scheme: 'bearer', params: { realm: '', service: 's' } }],
  },
  {
    name: 'duplicate parameter keeps the first',
    in: 'Bearer realm="first", realm="second"',
    out: [{ scheme: 'bearer', params: { realm: 'first' } }],
  },
  {
    name: 'unterminated quoted string runs to the end',
    in: 'Bearer realm="https://t/token, service=x',
    out: [
      { scheme: 'bearer', params: { realm: 'https://t/token, service=x' } },
    ],
  },
  {
    name: 'junk after a quoted value is skipped to the next comma',
    in: 'Bearer realm="r"junk here, service="s"',
    out: [{ scheme: 'bearer', params: { realm: 'r', service: 's' } }],
  },
  {
    name: 'a __proto__ parameter does not touch the prototype',
    in: 'Bearer __proto__="x", realm="r"',
    out: [{ scheme: 'bearer', params: { realm: 'r' } }],
  },
  {
    name: 'insufficient_scope error challenge',
    in: 'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:o/a:pull",error="insufficient_scope"',
    out: [
      {
        scheme: 'bearer',
        params: {
          realm: 'https://ghcr.io/token',
          service: 'ghcr.io',
          scope: 'repository:o/a:pull',
          error: 'insufficient_scope',
        },
      },
    ],
  },
  { name: 'empty header', in: '', out: [] },
  { name: 'only separators', in: ' , ,, ', out: [] },
  { name: 'no headers', in: [], out: [] },
  {
    name: 'a stray parameter with no scheme is dropped',
    in: 'realm="x", Basic realm="y"',
    out: [{ scheme: 'basic', params: { realm: 'y' } }],
  },
];

describe('parseWwwAuthenticate', () => {
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(parseWwwAuthenticate(c.in), c.out);
    });
  }

  it('handles a header with hundreds of thousands of challenges', () => {
    const out = parseWwwAuthenticate('a,'.repeat(300_000));
    assert.equal(out.length, 300_000);
  });

  it('never throws on arbitrary bytes', () => {
    const alphabet = 'aB =,"\\\t/:;x9';
    let seed = 12345;
    for (let i = 0; i < 2000; i++) {
      let s = '';
      const len = i % 40;
      for (let j = 0; j < len; j++) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        s += alphabet[seed % alphabet.length];
      }
      const out = parseWwwAuthenticate(s);
      for (const ch of out) {
        assert.equal(ch.scheme, ch.scheme.toLowerCase());
        assert.notEqual(ch.scheme, '');
        assert.equal(Object.getPrototypeOf(ch.params), Object.prototype);
      }
    }
  });
});
