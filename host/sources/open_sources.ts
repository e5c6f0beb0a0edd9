// The sources a pipeline file names, started and wired to the pipeline.
import type { PipelineConfig } from '../config/types.js';
import type { FrameSink, Source } from './source.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { SyntheticSource } from './synthetic_source.js';
import { FileSource, fileFormat } from './file_source.js';
import { join } from 'node:path';
import { sourceStream, streamsOf } from '../config/streams.js';

/**
 * Starts loading the modules `openSources` will import for this config, so
 * they load while the partition workers boot. Failures are left to
 * `openSources`, which imports them again and reports.
 */
export function preloadSources(config: PipelineConfig): Promise<unknown> {
  return Promise.all(config.sources.flatMap((s): Promise<unknown>[] => {
    if (s.type === 'ws') return [import('./ws_source.js'), s.native === false ? import('./ws_fallback.js') : import('./ws_uws.js')];
    return s.type === 'mqtt' ? [import('./mqtt_source.js')] : [];
  })).catch(() => undefined);
}

type WsSourceConfig = Extract<PipelineConfig['sources'][number], { type: 'ws' }>;

/** A ws source's options from its config (`ganglion validate` builds the source with them too, without starting it). */
export function wsSourceOptions(s: WsSourceConfig, i: number) {
  return {
    name: s.name ?? `ws${i}`, host: s.host, port: s.port, path: s.path, maxFrameBytes: s.max_frame_bytes,
    native: s.native !== false, ...(s.auth_token ? { token: s.auth_token } : {}),
    allowedHosts: s.allowed_hosts, allowedOrigins: s.allowed_origins, configPath: `sources[${i}]`,
  };
}

/**
 * The pipeline as one source's sink: its frames are counted under the
 * source's configured name, not per connection. Everything else a sink does
 * (refused frames) goes straight through.
 */
function sinkFor(pipeline: Pipeline, name: string, stream: number): FrameSink {
  return { onFrame: (frame, ack) => pipeline.onFrame(frame, ack, name, stream), onRefused: (r) => pipeline.onRefused(r) };
}

/**
 * `register` is called with each source just before it starts: a source may
 * fill the rings before the later ones have started, and the pause/resume
 * that follows must reach it (a feed told to pause but never to resume stalls).
 */
export async function openSources(config: PipelineConfig, pipeline: Pipeline, alreadyLogged = 0, register: (s: Source | SyntheticSource) => void = () => undefined): Promise<Array<Source | SyntheticSource>> {
  const out: Array<Source | SyntheticSource> = [];
  const started = (src: Source | SyntheticSource) => { out.push(src); register(src); };
  try {
    for (const [i, s] of config.sources.entries()) {
      const stream = sourceStream(config, s);
      if (stream < 0) throw new Error(`sources[${i}]: unknown stream '${(s as { stream?: string }).stream}'`);
      switch (s.type) {
        case 'ws': {
          const { WsSource } = await import('./ws_source.js');
          const src = new WsSource(wsSourceOptions(s, i));
          started(src);
          await src.start(sinkFor(pipeline, src.name, stream));
          break;
        }
        case 'mqtt': {
          const { MqttSource } = await import('./mqtt_source.js');
          const src = new MqttSource({
            name: s.name ?? `mqtt${i}`, url: s.url, clientId: s.client_id ?? `ganglion-${config.name}`,
            topics: s.topics.map((t) => ({ filter: t.topic, format: t.format, qos: t.qos === 0 ? 0 : 1 })),
            sessionExpirySeconds: Number(s.session_expiry / 1_000_000_000n), cleanStart: s.clean, retained: s.retained,
            puback: config.delivery.mode === 'at_most_once' ? 'on-receipt' : 'after-ack',
            ...(s.username ? { username: s.username } : {}), ...(s.password ? { password: s.password } : {}),
            ...(s.tls ? { tls: { ...(s.tls.ca ? { ca: s.tls.ca } : {}), ...(s.tls.cert ? { cert: s.tls.cert } : {}), ...(s.tls.key ? { key: s.tls.key } : {}), rejectUnauthorized: s.tls.reject_unauthorized } } : {}),
          } as ConstructorParameters<typeof MqttSource>[0]);
          started(src);
          await src.start(sinkFor(pipeline, src.name, stream));
          break;
        }
        case 'synthetic': {
          const type = pipeline.streamRecordType(stream);
          const st = streamsOf(config)[stream];
          // With an ingest log it resumes after a restart: its saved states live beside the log.
          const statePath = config.delivery.mode === 'at_most_once' ? undefined : join(pipeline.dataDir, `feed-${i}.json`);
          const src = new SyntheticSource(s, { ...config, schema: st.schema, event_time: st.event_time }, type, pipeline.plan.streams[stream].fields.key, (k) => pipeline.intern(k), type.stride, stream, statePath);
          started(src);
          // Resumes after what the log holds when it is the only source of its stream (the log cannot tell two feeds of one stream apart).
          const alone = config.sources.filter((o) => sourceStream(config, o) === stream).length === 1;
          src.start(pipeline, config.sources.length === 1 ? alreadyLogged : alone ? pipeline.loggedEvents(stream) : 0);
          break;
        }
        case 'file': {
          const src = new FileSource(s.path, fileFormat(s.path, s.format === 'csv' ? undefined : s.format), s.name, () => pipeline.sourceEnded(s.name ?? s.path), (e) => pipeline.sourceFailed(e));
          started(src);
          await src.start(sinkFor(pipeline, src.name, stream));
          break;
        }
      }
    }
  } catch (e) {
    await Promise.all(out.map((s) => s.close().catch(() => undefined)));
    throw e;
  }
  return out;
}
