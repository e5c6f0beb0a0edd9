// The sources a pipeline file names, started and wired to the pipeline.
import type { PipelineConfig } from '../config/types.js';
import type { Source } from '../ingest/source.js';
import type { Pipeline } from './pipeline.js';
import { SyntheticSource } from './synthetic_source.js';
import { FileSource, fileFormat } from './file_source.js';

/**
 * Starts loading the modules `openSources` will import for this config, so
 * they load while the partition workers boot. Failures are left to
 * `openSources`, which imports them again and reports.
 */
export function preloadSources(config: PipelineConfig): Promise<unknown> {
  return Promise.all(config.sources.flatMap((s): Promise<unknown>[] => {
    if (s.type === 'ws') return [import('../ingest/ws_source.js'), s.native === false ? import('../ingest/ws_fallback.js') : import('../ingest/ws_uws.js')];
    return s.type === 'mqtt' ? [import('../ingest/mqtt_source.js')] : [];
  })).catch(() => undefined);
}

export async function openSources(config: PipelineConfig, pipeline: Pipeline, alreadyLogged = 0): Promise<Array<Source | SyntheticSource>> {
  const out: Array<Source | SyntheticSource> = [];
  try {
    for (const [i, s] of config.sources.entries()) {
      switch (s.type) {
        case 'ws': {
          const { WsSource } = await import('../ingest/ws_source.js');
          const src = new WsSource({
            name: s.name ?? `ws${i}`, host: s.host, port: s.port, path: s.path, maxFrameBytes: s.max_frame_bytes,
            native: s.native !== false, ...(s.auth_token ? { token: s.auth_token } : {}),
            allowedHosts: s.allowed_hosts, allowedOrigins: s.allowed_origins, configPath: `sources[${i}]`,
          });
          await src.start(pipeline);
          out.push(src);
          break;
        }
        case 'mqtt': {
          const { MqttSource } = await import('../ingest/mqtt_source.js');
          const src = new MqttSource({
            name: s.name ?? `mqtt${i}`, url: s.url, clientId: s.client_id ?? `ganglion-${config.name}`,
            topics: s.topics.map((t) => ({ filter: t.topic, format: t.format, qos: t.qos === 0 ? 0 : 1 })),
            sessionExpirySeconds: Number(s.session_expiry / 1_000_000_000n), cleanStart: s.clean, retained: s.retained,
            puback: config.delivery.mode === 'at_most_once' ? 'on-receipt' : 'after-ack',
            ...(s.username ? { username: s.username } : {}), ...(s.password ? { password: s.password } : {}),
            ...(s.tls ? { tls: { ...(s.tls.ca ? { ca: s.tls.ca } : {}), ...(s.tls.cert ? { cert: s.tls.cert } : {}), ...(s.tls.key ? { key: s.tls.key } : {}), rejectUnauthorized: s.tls.reject_unauthorized } } : {}),
          } as ConstructorParameters<typeof MqttSource>[0]);
          await src.start(pipeline);
          out.push(src);
          break;
        }
        case 'synthetic': {
          const type = pipeline.recordType;
          const src = new SyntheticSource(s, config, type, pipeline.plan.fields.key, (k) => pipeline.intern(k), type.stride);
          src.start(pipeline, config.sources.length === 1 ? alreadyLogged : 0);
          out.push(src);
          break;
        }
        case 'file': {
          const src = new FileSource(s.path, fileFormat(s.path, s.format === 'csv' ? undefined : s.format), s.name, () => pipeline.sourceEnded(s.name ?? s.path));
          await src.start(pipeline);
          out.push(src);
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
