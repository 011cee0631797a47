import type { Config } from '../config.ts';
import { descriptionQueue } from './description-queue.ts';
import { dispatcher } from './dispatcher.ts';
import { fixityReadModel } from './fixity-read-model.ts';
import { manifestReadModel } from './manifest-read-model.ts';
import { objectReadModel } from './object-read-model.ts';
import { oaiReadModel } from './oai-read-model.ts';
import { pageTextReadModel } from './page-text-read-model.ts';
import type { Projection } from './projection.ts';
import { statsReadModel } from './stats-read-model.ts';
import { userReadModel } from './user-read-model.ts';

/** Every projection a server runs and `thukho rebuild` can replay, by name. */
export function projectionsFor(config: Config): Record<string, Projection> {
  return {
    objects: objectReadModel,
    users: userReadModel,
    manifests: manifestReadModel,
    dispatcher: dispatcher({ replicate: config.replicas.length > 0 }),
    fixity: fixityReadModel,
    'page-text': pageTextReadModel,
    stats: statsReadModel,
    oai: oaiReadModel({ restricted: config.oai.restricted }),
    'description-queue': descriptionQueue({ factsDelayMs: config.describeFactsDelayMs }),
  };
}
