/**
 * Builds and pushes test images without Docker: random layers of chosen
 * sizes, a config that lists their diff IDs, and an OCI or Docker schema 2
 * manifest; multi-arch indexes (OCI index or Docker manifest list) over
 * several such images.
 *
 * Layers are random bytes of exactly the requested size, labelled as
 * gzip'd tar layers: registries store them without looking inside, which is
 * all signing and verifying need.
 */
import { randomBytes } from 'node:crypto';
import { ociDigest } from '../../src/core/digest.js';
import { MediaType } from '../../src/oci/types.js';
import type { Descriptor } from '../../src/oci/types.js';
import type { RegistryClient, RepoRef } from '../../src/oci/registry.js';

export interface PushedImage {
  digest: string;
  mediaType: string;
  /** The exact manifest bytes pushed. */
  bytes: Buffer;
  config: Descriptor;
  layers: Descriptor[];
}

export interface PushImageOptions {
  /** Tag to push; default: push by digest only. */
  tag?: string;
  /** Layer sizes in bytes. Default [1024]. */
  layers?: number[];
  /** Docker schema 2 media types instead of OCI. */
  docker?: boolean;
  architecture?: string;
  os?: string;
}

/** The manifest and blobs of a random image, not pushed. */
export function buildRandomImage(opts: Omit<PushImageOptions, 'tag'> = {}): {
  manifest: Buffer;
  mediaType: string;
  config: { bytes: Buffer; descriptor: Descriptor };
  layers: { bytes: Buffer; descriptor: Descriptor }[];
} {
  const docker = opts.docker === true;
  const layerType = docker ? MediaType.DockerLayer : MediaType.OciLayer;
  const layers = (opts.layers ?? [1024]).map((size) => {
    const bytes = randomBytes(size);
    return {
      bytes,
      descriptor: { mediaType: layerType, digest: ociDigest(bytes), size },
    };
  });
  const configJson = {
    architecture: opts.architecture ?? 'amd64',
    os: opts.os ?? 'linux',
    created: '2026-01-01T00:00:00Z',
    config: {
      Labels: { 'dev.signet.test.nonce': randomBytes(8).toString('hex') },
    },
    rootfs: {
      type: 'layers',
      diff_ids: layers.map((l) => l.descriptor.digest),
    },
  };
  const configBytes = Buffer.from(JSON.stringify(configJson), 'utf8');
  const config = {
    bytes: configBytes,
    descriptor: {
      mediaType: docker ? MediaType.DockerConfig : MediaType.OciConfig,
      digest: ociDigest(configBytes),
      size: configBytes.length,
    },
  };
  const mediaType = docker ? MediaType.DockerManifest : MediaType.OciManifest;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: config.descriptor,
      layers: layers.map((l) => l.descriptor),
    }),
    'utf8'
  );
  return { manifest, mediaType, config, layers };
}

/** Pushes a random single-platform image; returns its digest and exact manifest bytes. */
export async function pushRandomImage(
  client: RegistryClient,
  repo: RepoRef,
  opts: PushImageOptions = {}
): Promise<PushedImage> {
  const img = buildRandomImage(opts);
  for (const l of img.layers) await client.putBlob(repo, l.bytes);
  await client.putBlob(repo, img.config.bytes);
  const digest = ociDigest(img.manifest);
  await client.putManifest(repo, digest, img.manifest, img.mediaType);
  if (opts.tag !== undefined) {
    await client.putManifest(repo, opts.tag, img.manifest, img.mediaType);
  }
  return {
    digest,
    mediaType: img.mediaType,
    bytes: img.manifest,
    config: img.config.descriptor,
    layers: img.layers.map((l) => l.descriptor),
  };
}

export interface PushedIndex {
  digest: string;
  mediaType: string;
  bytes: Buffer;
  /** Child manifest digests, in index order. */
  children: string[];
}

const PLATFORMS: { architecture: string; os: string; variant?: string }[] = [
  { architecture: 'amd64', os: 'linux' },
  { architecture: 'arm64', os: 'linux', variant: 'v8' },
  { architecture: 'arm', os: 'linux', variant: 'v7' },
  { architecture: 's390x', os: 'linux' },
  { architecture: 'ppc64le', os: 'linux' },
  { architecture: 'riscv64', os: 'linux' },
];

/** Pushes a multi-arch index (children first, then the index, then the tag). */
export async function pushIndex(
  client: RegistryClient,
  repo: RepoRef,
  opts: {
    tag?: string;
    platforms?: number;
    docker?: boolean;
    layers?: number[];
  } = {}
): Promise<PushedIndex> {
  const n = opts.platforms ?? 2;
  if (n < 1 || n > PLATFORMS.length)
    throw new Error(`platforms must be 1..${PLATFORMS.length}`);
  const manifests: Descriptor[] = [];
  for (const p of PLATFORMS.slice(0, n)) {
    const child = await pushRandomImage(client, repo, {
      docker: opts.docker === true,
      layers: opts.layers ?? [512],
      architecture: p.architecture,
      os: p.os,
    });
    const platform: Descriptor['platform'] = {
      architecture: p.architecture,
      os: p.os,
    };
    if (p.variant !== undefined) platform.variant = p.variant;
    manifests.push({
      mediaType: child.mediaType,
      digest: child.digest,
      size: child.bytes.length,
      platform,
    });
  }
  const mediaType =
    opts.docker === true ? MediaType.DockerManifestList : MediaType.OciIndex;
  const bytes = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType, manifests }),
    'utf8'
  );
  const digest = ociDigest(bytes);
  await client.putManifest(repo, digest, bytes, mediaType);
  if (opts.tag !== undefined)
    await client.putManifest(repo, opts.tag, bytes, mediaType);
  return { digest, mediaType, bytes, children: manifests.map((m) => m.digest) };
}
