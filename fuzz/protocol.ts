// Messages between the fuzz parent and its worker processes (node IPC, JSON serialisation).
import { PropertyId } from '../properties/properties';
import { Coverage } from '../properties/coverage';
import { RawFinding } from './batch';
import { Shard } from './seeds';

export interface StartMessage {
  type: 'start';
  worker: number;
  baseSeed: number;
  shard: Shard;
  /** --fixup PATH, or null for the built-in Proxmox patch */
  fixupPath: string | null;
  batchRuns: number;
  properties: PropertyId[];
  /** test hook: throw in the worker after this many batches (infrastructure-error tests) */
  crashAfterBatches?: number;
}

export interface StopMessage {
  type: 'stop';
}

export type ParentMessage = StartMessage | StopMessage;

export interface ReadyMessage {
  type: 'ready';
  worker: number;
  fixupName: string;
}

export interface ProgressMessage {
  type: 'progress';
  worker: number;
  /** coverage since the previous progress message */
  delta: Coverage;
}

export interface FindingMessage {
  type: 'finding';
  worker: number;
  finding: RawFinding;
}

export interface DoneMessage {
  type: 'done';
  worker: number;
  delta: Coverage;
}

export interface ErrorMessage {
  type: 'error';
  worker: number;
  message: string;
}

export type WorkerMessage = ReadyMessage | ProgressMessage | FindingMessage | DoneMessage | ErrorMessage;
