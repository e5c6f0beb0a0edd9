// The sinks a pipeline file names. WebSocket topics are served by the HTTP
// server that `ganglion run` starts, so they are attached there, not here.
import { resolve } from 'node:path';
import type { PipelineConfig } from '../config/types.js';
import type { OutputSink } from '../sinks/output_sink.js';
import type { OutputKind } from '../output/format.js';

/** A sink with the outputs it selects (kinds, operators), checkable before an output is formatted. */
export interface SelectedSink {
  sink: OutputSink;
  wants: (op: string, kind: OutputKind) => boolean;
}

/** Like `preloadSources`: starts loading the sink modules this config needs. */
export function preloadSinks(config: PipelineConfig): Promise<unknown> {
  const mod = { jsonl: () => import('../sinks/jsonl_sink.js'), stdout: () => import('../sinks/stdout_sink.js'), mqtt: () => import('../sinks/mqtt_sink.js') } as Record<string, () => Promise<unknown>>;
  return Promise.all(config.sinks.map((s) => mod[s.type]?.())).catch(() => undefined);
}

export async function openSinks(config: PipelineConfig, _dataDir: string): Promise<SelectedSink[]> {
  const sinks: SelectedSink[] = [];
  for (const [i, s] of config.sinks.entries()) {
    const name = s.name ?? `${s.type}${i}`;
    const selection = { ...(s.kinds ? { kinds: s.kinds } : {}), ...(s.operators ? { operators: s.operators } : {}) };
    const kinds = s.kinds ? new Set<string>(s.kinds) : null;
    const ops = s.operators ? new Set<string>(s.operators) : null;
    const wants = (op: string, kind: OutputKind) => (!kinds || kinds.has(kind)) && (!ops || ops.has(op));
    const add = (sink: OutputSink) => sinks.push({ sink, wants });
    switch (s.type) {
      case 'jsonl': {
        const { JsonlSink } = await import('../sinks/jsonl_sink.js');
        add(new JsonlSink({
          name, path: resolve(s.path), fsync: s.fsync, ...selection,
          ...(s.rotate?.size === undefined ? {} : { rotateBytes: s.rotate.size }),
          ...(s.rotate?.age === undefined ? {} : { rotateAgeMs: Number(s.rotate.age / 1_000_000n) }),
        }));
        break;
      }
      case 'stdout': {
        const { StdoutSink } = await import('../sinks/stdout_sink.js');
        add(new StdoutSink({ name, ...selection }));
        break;
      }
      case 'mqtt': {
        const { MqttSink } = await import('../sinks/mqtt_sink.js');
        add(await MqttSink.connect({
          name, url: s.url, topic: s.topic, pipeline: config.name, qos: s.qos, retain: s.retain,
          ...(s.client_id ? { clientId: s.client_id } : {}),
          ...(s.username ? { username: s.username } : {}), ...(s.password ? { password: s.password } : {}),
          ...(s.tls ? { tls: s.tls } : {}), ...selection,
        } as Parameters<typeof MqttSink.connect>[0]).catch((e: Error) => {
          throw new Error(`sink ${name}: cannot connect to the MQTT broker at ${s.url}: ${e.message}`);
        }));
        break;
      }
      case 'ws':
        break;
    }
  }
  return sinks;
}
