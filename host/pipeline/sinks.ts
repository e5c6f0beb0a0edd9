// The sinks a pipeline file names. WebSocket topics are served by the HTTP
// server that `ganglion run` starts, so they are attached there, not here.
import { resolve } from 'node:path';
import type { PipelineConfig } from '../config/types.js';
import type { OutputSink } from '../sinks/output_sink.js';

export async function openSinks(config: PipelineConfig, _dataDir: string): Promise<OutputSink[]> {
  const sinks: OutputSink[] = [];
  for (const [i, s] of config.sinks.entries()) {
    const name = s.name ?? `${s.type}${i}`;
    const selection = { ...(s.kinds ? { kinds: s.kinds } : {}), ...(s.operators ? { operators: s.operators } : {}) };
    switch (s.type) {
      case 'jsonl': {
        const { JsonlSink } = await import('../sinks/jsonl_sink.js');
        sinks.push(new JsonlSink({
          name, path: resolve(s.path), fsync: s.fsync, ...selection,
          ...(s.rotate?.size === undefined ? {} : { rotateBytes: s.rotate.size }),
          ...(s.rotate?.age === undefined ? {} : { rotateAgeMs: Number(s.rotate.age / 1_000_000n) }),
        }));
        break;
      }
      case 'stdout': {
        const { StdoutSink } = await import('../sinks/stdout_sink.js');
        sinks.push(new StdoutSink({ name, ...selection }));
        break;
      }
      case 'mqtt': {
        const { MqttSink } = await import('../sinks/mqtt_sink.js');
        sinks.push(await MqttSink.connect({
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
