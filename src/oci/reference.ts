/**
 * Image references: parse once at the boundary into a typed value
 * (spec registry-client.md §3).
 *
 * Grammar (distribution/reference `regexp.go`, spec §3.1):
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] path
 *   domain     := host [ ":" port ]
 *   host       := component ( "." component )*  |  "[" ipv6 "]"
 *   component  := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 *   path       := path-comp ( "/" path-comp )*            (≤ 255 chars)
 *   path-comp  := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag        := [\w][\w.-]{0,127}
 *   digest     := algorithm ":" hex                        (hex ≥ 32 chars)
 *
 * Normalisation follows go-containerregistry (what cosign uses, §3.3), so the
 * identity we write into signature payloads matches cosign's:
 *
 * - the first path component is a registry when it is `localhost` or
 *   contains `.` or `:` (distribution also treats an upper-case first
 *   component as a domain; we do not, so `Foo/bar` is refused as an
 *   upper-case Docker Hub repository rather than sent to a host called Foo);
 * - Docker Hub's identity is `index.docker.io` (`docker.io` is an alias),
 *   and single-component Hub names get `library/`;
 * - no tag and no digest means tag `latest`; a tag and a digest together are
 *   both kept (callers that fetch use the digest).
 *
 * PURE: no IO.
 */
import { SignetError } from '../errors.js';
import { redact } from '../core/redact.js';

export interface Reference {
  /** Identity host: `index.docker.io` for Docker Hub, else `host[:port]` lower-cased. */
  readonly registry: string;
  /** Repository path, e.g. `library/alpine`, `org/app`. */
  readonly repository: string;
  /** Set when given, or defaulted to `latest` when neither tag nor digest was given. */
  readonly tag?: string;
  /** `algorithm:hex` when given. */
  readonly digest?: string;
  /** The input string as given. */
  readonly original: string;
}

/** Docker Hub's identity host, as ggcr (and so cosign payloads) spell it. */
export const DOCKER_HUB_REGISTRY = 'index.docker.io';
/** The host Docker Hub's registry API is served from. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';
/** The tag used when a reference has neither tag nor digest. */
export const DEFAULT_TAG = 'latest';

const MAX_REPOSITORY_LENGTH = 255;

const HOST_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST_RE = new RegExp(
  `^(?:${HOST_COMPONENT}(?:\\.${HOST_COMPONENT})*|\\[[a-fA-F0-9:]+\\])$`
);
const PORT_RE = /^[0-9]+$/;
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_ALGORITHM_RE =
  /^[A-Za-z][A-Za-z0-9]*(?:[+._-][A-Za-z][A-Za-z0-9]*)*$/;
const DIGEST_HEX_RE = /^[0-9a-fA-F]{32,}$/;
const IDENTIFIER_RE = /^[a-f0-9]{64}$/;
/** Registered algorithms: exact lower-case hex lengths (opencontainers/go-digest). */
const KNOWN_DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = {
  sha256: 64,
  sha384: 96,
  sha512: 128,
};
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARS_RE = /[\s\u0000-\u001f\u007f]/;

class InvalidReference extends SignetError {
  constructor(input: string, reason: string) {
    super(
      'INVALID_REFERENCE',
      `invalid image reference ${show(input)}: ${reason}`
    );
  }
}

/** Quote the offending input for a message: escaped, redacted, bounded. */
function show(input: string): string {
  const clipped = input.length > 300 ? `${input.slice(0, 300)}…` : input;
  return JSON.stringify(redact(clipped));
}

/**
 * Parse an image reference such as `alpine`, `ghcr.io/org/app:v1`,
 * `localhost:5000/app@sha256:…` or `[::1]:5000/app:v1@sha256:…`.
 *
 * `defaultRegistry` replaces Docker Hub for names without a registry (ggcr
 * `WithDefaultRegistry`); `library/` is only added for Docker Hub.
 *
 * Throws SignetError `INVALID_REFERENCE`; the message names the input.
 */
export function parseReference(
  input: string,
  opts: { defaultRegistry?: string } = {}
): Reference {
  checkWholeInput(input);

  // The digest is everything after the first '@' (no other part may hold one).
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    const problem = digestProblem(digest);
    if (problem !== undefined) throw new InvalidReference(input, problem);
  }

  // A tag follows the last ':' that comes after the last '/' (a ':' before
  // the last '/' belongs to a registry port).
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (tag === '') throw new InvalidReference(input, 'empty tag after ":"');
    if (tag.length > 128) {
      throw new InvalidReference(
        input,
        `tag is ${tag.length} characters long (at most 128 allowed)`
      );
    }
    if (!TAG_RE.test(tag)) {
      throw new InvalidReference(
        input,
        `invalid tag ${JSON.stringify(tag)} (letters, digits, "_", "." and "-", not starting with "." or "-")`
      );
    }
  }

  if (rest === '') throw new InvalidReference(input, 'missing repository name');
  if (digest === undefined && tag === undefined && IDENTIFIER_RE.test(rest)) {
    // distribution refuses a bare image ID, which would otherwise be read as
    // the Hub repository library/<hex>.
    throw new InvalidReference(
      input,
      'a 64-character hexadecimal string is an image ID, not a repository name'
    );
  }

  const { registry, repository } = splitName(input, rest, opts.defaultRegistry);
  return {
    registry,
    repository,
    ...(tag !== undefined
      ? { tag }
      : digest === undefined
        ? { tag: DEFAULT_TAG }
        : {}),
    ...(digest !== undefined ? { digest } : {}),
    original: input,
  };
}

/**
 * Parse a repository without tag or digest, e.g. `COSIGN_REPOSITORY`
 * (`ghcr.io/org/sigs`, `localhost:5000/sigs`, `myuser/sigs`).
 */
export function parseRepository(input: string): {
  registry: string;
  repository: string;
} {
  checkWholeInput(input);
  if (input.includes('@')) {
    throw new InvalidReference(input, 'a repository cannot have a digest');
  }
  const colon = input.lastIndexOf(':');
  if (colon > input.lastIndexOf('/')) {
    throw new InvalidReference(input, 'a repository cannot have a tag');
  }
  return splitName(input, input, undefined);
}

/** Canonical `registry/repository[:tag][@digest]`. */
export function formatReference(ref: Reference): string {
  let s = repositoryName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** `registry/repository`: the docker-reference form used in signature payloads. */
export function repositoryName(ref: {
  registry: string;
  repository: string;
}): string {
  return `${ref.registry}/${ref.repository}`;
}

/**
 * The host to send registry API requests to: Docker Hub's identity
 * `index.docker.io` is served from `registry-1.docker.io` (spec §2.8).
 */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB_REGISTRY || registry === 'docker.io'
    ? DOCKER_HUB_API_HOST
    : registry;
}

/**
 * The same repository pinned to `digest` (the tag is dropped, as ggcr's
 * `Repository.Digest` does: a digest names the content exactly). `original`
 * is kept so messages can still quote what the user typed.
 */
export function withDigest(ref: Reference, digest: string): Reference {
  const problem = digestProblem(digest);
  if (problem !== undefined) {
    throw new SignetError(
      'INVALID_REFERENCE',
      `invalid digest ${show(digest)} for ${repositoryName(ref)}: ${problem}`
    );
  }
  return {
    registry: ref.registry,
    repository: ref.repository,
    digest,
    original: ref.original,
  };
}

/** undefined when `digest` is well-formed, else the reason it is not. */
function digestProblem(digest: string): string | undefined {
  if (digest === '') return 'empty digest after "@"';
  const sep = digest.indexOf(':');
  if (sep < 0) {
    return `digest ${JSON.stringify(digest)} has no algorithm (expected "sha256:<64 hex>")`;
  }
  const algorithm = digest.slice(0, sep);
  const hex = digest.slice(sep + 1);
  if (!DIGEST_ALGORITHM_RE.test(algorithm)) {
    return `invalid digest algorithm ${JSON.stringify(algorithm)}`;
  }
  const known = KNOWN_DIGEST_HEX_LENGTH[algorithm];
  if (known !== undefined) {
    if (hex.length !== known || !/^[a-f0-9]+$/.test(hex)) {
      return `${algorithm} digest must be ${known} lower-case hex characters`;
    }
    return undefined;
  }
  if (!DIGEST_HEX_RE.test(hex)) {
    return `digest ${JSON.stringify(digest)} must end in at least 32 hex characters`;
  }
  return undefined;
}

function checkWholeInput(input: string): void {
  if (input === '') throw new InvalidReference(input, 'empty reference');
  if (FORBIDDEN_CHARS_RE.test(input)) {
    throw new InvalidReference(
      input,
      'contains whitespace or control characters'
    );
  }
  if (input.includes('://')) {
    // cosign sends such input on to the registry and fails obscurely
    // (sigstore/cosign#3403); say what is wrong instead.
    throw new InvalidReference(
      input,
      `a reference has no URL scheme; drop "${input.slice(0, input.indexOf('://') + 3)}"`
    );
  }
}

/** Split `name` into a normalised registry and repository (spec §3.2/§3.3). */
function splitName(
  input: string,
  name: string,
  defaultRegistry: string | undefined
): { registry: string; repository: string } {
  let registry: string;
  let path: string;
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  if (
    slash >= 0 &&
    (first === 'localhost' || first.includes('.') || first.includes(':'))
  ) {
    registry = normaliseRegistry(input, first);
    path = name.slice(slash + 1);
  } else {
    registry =
      defaultRegistry === undefined
        ? DOCKER_HUB_REGISTRY
        : normaliseRegistry(input, defaultRegistry);
    path = name;
  }

  checkPath(input, path);
  if (registry === DOCKER_HUB_REGISTRY && !path.includes('/')) {
    path = `library/${path}`;
  }
  return { registry, repository: path };
}

function normaliseRegistry(input: string, domain: string): string {
  let host = domain;
  let port: string | undefined;
  if (domain.startsWith('[')) {
    const end = domain.indexOf(']');
    if (end < 0) {
      throw new InvalidReference(
        input,
        `unterminated IPv6 address in registry ${JSON.stringify(domain)}`
      );
    }
    host = domain.slice(0, end + 1);
    const after = domain.slice(end + 1);
    if (after !== '') {
      if (!after.startsWith(':')) {
        throw new InvalidReference(
          input,
          `invalid registry ${JSON.stringify(domain)}`
        );
      }
      port = after.slice(1);
    }
  } else {
    const colon = domain.indexOf(':');
    if (colon >= 0) {
      host = domain.slice(0, colon);
      port = domain.slice(colon + 1);
    }
  }
  if (!HOST_RE.test(host)) {
    throw new InvalidReference(
      input,
      `invalid registry host ${JSON.stringify(host)}`
    );
  }
  if (port !== undefined) {
    if (!PORT_RE.test(port) || Number(port) < 1 || Number(port) > 65535) {
      throw new InvalidReference(
        input,
        `invalid registry port ${JSON.stringify(port)} (expected 1-65535)`
      );
    }
  }
  const registry = (
    port === undefined ? host : `${host}:${port}`
  ).toLowerCase();
  return registry === 'docker.io' ? DOCKER_HUB_REGISTRY : registry;
}

function checkPath(input: string, path: string): void {
  if (path === '') throw new InvalidReference(input, 'missing repository name');
  if (path.length > MAX_REPOSITORY_LENGTH) {
    throw new InvalidReference(
      input,
      `repository name is ${path.length} characters long (at most ${MAX_REPOSITORY_LENGTH} allowed)`
    );
  }
  if (/[A-Z]/.test(path)) {
    throw new InvalidReference(input, 'repository name must be lowercase');
  }
  for (const component of path.split('/')) {
    if (component === '') {
      throw new InvalidReference(
        input,
        'repository name has an empty path component (leading, trailing or double "/")'
      );
    }
    if (!PATH_COMPONENT_RE.test(component)) {
      throw new InvalidReference(
        input,
        `invalid repository path component ${JSON.stringify(component)} (lower-case letters and digits, separated by ".", "_", "__" or "-")`
      );
    }
  }
}
