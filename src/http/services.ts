import type { Logger } from 'pino';
import type { IngestServices } from '../application/ingest.ts';
import type { DescriptionSubject } from '../application/self-description.ts';
import type { Config } from '../config.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { ReadModelDb, ReadModelReader } from '../projections/read-model-db.ts';
import type { ProjectionRunner } from '../projections/runtime.ts';
import type { SearchProjectionRunner } from '../projections/search-runner.ts';
import type { Queue } from 'bullmq';
import type { AuditResult, QueueKey } from '../queue/queues.ts';
import type { QueueStatus } from '../queue/queue-status.ts';
import type { ImageService } from '../iiif/image-service.ts';
import type { AccessLog } from '../application/access-log.ts';
import type { Metrics } from './metrics.ts';
import type { IiifTokenStore } from './iiif-tokens.ts';
import type { SessionStore } from './sessions.ts';
import type { SignInThrottle } from './sign-in-throttle.ts';

/** What the HTTP layer is given: ports and read models, never adapters' internals. */
export interface AppServices {
  config: Config;
  logger: Logger;
  store: EventStore;
  readDb: ReadModelDb;
  /** A read-only connection of the read model, for answers that stream a long query (closed on stop). */
  readModelReader: ReadModelReader;
  projections: ProjectionRunner[];
  /** The runner of the object read model, for read-your-writes after a command. */
  objects: ProjectionRunner;
  /** The search projection's runner; its `index` is the search port the site and the API ask. */
  search: SearchProjectionRunner;
  pingRedis: () => Promise<void>;
  /** The last scheduled hash-chain audit (null before the first one). */
  lastAudit: () => Promise<AuditResult | null>;
  metrics: Metrics;
  ingest: IngestServices;
  /**
   * Brings the OCFL description of a changed work or collection up to the log (a new
   * version), so that what a person was told is saved is also on the storage root.
   */
  describe: (subject: DescriptionSubject) => Promise<void>;
  images: ImageService;
  /** Where access events go (null when THUKHO_ACCESS_EVENTS=off). */
  access: AccessLog | null;
  /** Every queue's depth and the OCR jobs that failed last (throws when redis does not answer). */
  queueStatus: () => Promise<QueueStatus>;
  /**
   * The background queues themselves, for what staff do with jobs: a fixity check asked for
   * now, the admins' queue board (/staff/queues: retry a failed job). Reads go through queueStatus.
   */
  queues: Readonly<Record<QueueKey, Queue>>;
  /** Replication lag and the last seal, as the workers last recorded them (null before the first run). */
  preservationStatus: () => Promise<PreservationStatus>;
  /** Site sign-in: sessions, failed-attempt counts and IIIF access tokens (all in Redis), and the key that signs cookies. */
  accounts: { sessions: SessionStore; throttle: SignInThrottle; cookieSecret: Buffer; iiifTokens: IiifTokenStore };
}

export interface PreservationStatus {
  replication: {
    measuredAt: string;
    replicas: Array<{ label: string; path: string; behind: number; differs: number; differsSample: string[] }>;
  } | null;
  seal: { finishedAt: string; status: 'sealed' | 'unchanged' | 'refused'; merkleRoot: string | null } | null;
  /** Configured replicas that are not an OCFL storage root right now (a disk not mounted): skipped. */
  unreadableReplicas: Array<{ label: string; path: string }>;
}
