import { z } from 'zod';
import { OAI_VERBS, type OaiError, type OaiRequestEcho, type OaiVerb } from '../formats/oai-pmh.ts';

/**
 * OAI-PMH 2.0 requests: which arguments each verb takes, and every error the spec names for a
 * request that is not well formed (badVerb, badArgument), decided before anything is read.
 * Also the resumption token's content. Nothing here knows HTTP or SQLite.
 */
export const METADATA_PREFIXES = ['oai_dc', 'mods'] as const;
export type MetadataPrefix = (typeof METADATA_PREFIXES)[number];

/** A datestamp argument at seconds granularity, normalised; `granularity` says what was given. */
export interface DateArgument {
  value: string;
  granularity: 'day' | 'seconds';
}

export interface ListArguments {
  metadataPrefix: string;
  set?: string;
  /** Inclusive bounds, `YYYY-MM-DDThh:mm:ssZ` (a day-granularity `until` is that day's last second). */
  from?: string;
  until?: string;
}

export type OaiRequest =
  | { verb: 'Identify' }
  | { verb: 'ListMetadataFormats'; identifier?: string }
  | { verb: 'ListSets'; resumptionToken?: string }
  | { verb: 'GetRecord'; identifier: string; metadataPrefix: string }
  | { verb: 'ListIdentifiers' | 'ListRecords'; resumptionToken: string }
  | ({ verb: 'ListIdentifiers' | 'ListRecords' } & ListArguments);

export type ParsedRequest = { ok: true; request: OaiRequest; echo: OaiRequestEcho } | { ok: false; errors: OaiError[] };

// The OAI-PMH XSD's setSpecType and a metadataPrefix's characters (URI unreserved).
const SET_SPEC = /^[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*$/;
const PREFIX = /^[A-Za-z0-9\-_.!~*'()]+$/;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const SECONDS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/;

function validDate(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): boolean {
  const t = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  return t.getUTCFullYear() === y && t.getUTCMonth() === mo - 1 && t.getUTCDate() === d && t.getUTCHours() === h && t.getUTCMinutes() === mi && t.getUTCSeconds() === s;
}

/** `from`/`until`: a real day or second in one of the two granularities we support, nothing finer. */
const DateArg = (bound: 'from' | 'until') =>
  z.string().transform((s, ctx): DateArgument => {
    const day = DAY.exec(s);
    if (day && validDate(Number(day[1]), Number(day[2]), Number(day[3]))) {
      return { value: `${s}T${bound === 'from' ? '00:00:00' : '23:59:59'}Z`, granularity: 'day' };
    }
    const sec = SECONDS.exec(s);
    if (sec && validDate(Number(sec[1]), Number(sec[2]), Number(sec[3]), Number(sec[4]), Number(sec[5]), Number(sec[6]))) {
      return { value: s, granularity: 'seconds' };
    }
    ctx.addIssue({ code: 'custom', message: `"${s}" is not a UTC datestamp of this repository's granularity (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ)` });
    return z.NEVER;
  });

const Text = z.string().min(1, 'is empty').max(2000, 'is too long');
const SetArg = Text.regex(SET_SPEC, 'is not a setSpec');
const PrefixArg = Text.regex(PREFIX, 'is not a metadataPrefix');

/** Each verb's arguments: `.strict()` refuses the ones it does not take (badArgument). */
const VERB_ARGUMENTS = {
  Identify: z.object({}).strict(),
  ListMetadataFormats: z.object({ identifier: Text.optional() }).strict(),
  ListSets: z.object({ resumptionToken: Text.optional() }).strict(),
  GetRecord: z.object({ identifier: Text, metadataPrefix: PrefixArg }).strict(),
  ListIdentifiers: z
    .object({ metadataPrefix: PrefixArg.optional(), from: DateArg('from').optional(), until: DateArg('until').optional(), set: SetArg.optional(), resumptionToken: Text.optional() })
    .strict(),
  ListRecords: z
    .object({ metadataPrefix: PrefixArg.optional(), from: DateArg('from').optional(), until: DateArg('until').optional(), set: SetArg.optional(), resumptionToken: Text.optional() })
    .strict(),
} satisfies Record<OaiVerb, z.ZodTypeAny>;

function isVerb(v: string): v is OaiVerb {
  return (OAI_VERBS as readonly string[]).includes(v);
}

/**
 * A request's arguments (in the order they came, repeats kept) to a request, or to the errors
 * the spec gives it: badVerb for a missing, unknown or repeated verb; badArgument for an
 * argument the verb does not take, a missing required one, a repeated one, an illegal value,
 * a resumptionToken beside anything but the verb, `until` before `from` or of another granularity.
 */
export function parseOaiArguments(params: ReadonlyArray<readonly [string, string]>): ParsedRequest {
  const verbs = params.filter(([k]) => k === 'verb').map(([, v]) => v);
  if (verbs.length === 0) return { ok: false, errors: [{ code: 'badVerb', message: 'The verb argument is missing.' }] };
  if (verbs.length > 1) return { ok: false, errors: [{ code: 'badVerb', message: 'The verb argument is repeated.' }] };
  const verb = verbs[0]!;
  if (!isVerb(verb)) return { ok: false, errors: [{ code: 'badVerb', message: `"${verb.slice(0, 100)}" is not an OAI-PMH verb.` }] };

  const errors: OaiError[] = [];
  const args: Record<string, string> = {};
  const seen = new Set<string>();
  for (const [k, v] of params) {
    if (k === 'verb') continue;
    if (seen.has(k)) {
      if (!errors.some((e) => e.message.startsWith(`The argument ${k} `))) errors.push({ code: 'badArgument', message: `The argument ${k.slice(0, 100)} is repeated.` });
      continue;
    }
    seen.add(k);
    args[k] = v;
  }
  const parsed = VERB_ARGUMENTS[verb].safeParse(args);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) errors.push({ code: 'badArgument', message: `${verb} does not take the argument ${key.slice(0, 100)}.` });
      } else {
        const name = String(issue.path[0] ?? 'argument');
        errors.push({ code: 'badArgument', message: args[name] === undefined ? `${verb} requires the argument ${name}.` : `The argument ${name} ${issue.message.replace(/^"/, 'value "')}.` });
      }
    }
  }
  if (errors.length > 0 || !parsed.success) return { ok: false, errors };

  const echo: OaiRequestEcho = { verb, ...args };
  const data = parsed.data as Record<string, unknown>;
  switch (verb) {
    case 'Identify':
      return { ok: true, request: { verb }, echo };
    case 'ListMetadataFormats':
      return { ok: true, request: { verb, ...(args.identifier !== undefined ? { identifier: args.identifier } : {}) }, echo };
    case 'ListSets':
      return { ok: true, request: { verb, ...(args.resumptionToken !== undefined ? { resumptionToken: args.resumptionToken } : {}) }, echo };
    case 'GetRecord':
      return { ok: true, request: { verb, identifier: args.identifier!, metadataPrefix: args.metadataPrefix! }, echo };
    case 'ListIdentifiers':
    case 'ListRecords': {
      if (args.resumptionToken !== undefined) {
        const others = Object.keys(args).filter((k) => k !== 'resumptionToken');
        if (others.length > 0) return { ok: false, errors: [{ code: 'badArgument', message: `resumptionToken is an exclusive argument: ${others.join(', ')} may not come with it.` }] };
        return { ok: true, request: { verb, resumptionToken: args.resumptionToken }, echo };
      }
      if (args.metadataPrefix === undefined) return { ok: false, errors: [{ code: 'badArgument', message: `${verb} requires the argument metadataPrefix.` }] };
      const from = data.from as DateArgument | undefined;
      const until = data.until as DateArgument | undefined;
      if (from && until) {
        if (from.granularity !== until.granularity) return { ok: false, errors: [{ code: 'badArgument', message: 'from and until have different granularities.' }] };
        if (until.value < from.value) return { ok: false, errors: [{ code: 'badArgument', message: 'until is earlier than from.' }] };
      }
      return {
        ok: true,
        request: {
          verb,
          metadataPrefix: args.metadataPrefix,
          ...(args.set !== undefined ? { set: args.set } : {}),
          ...(from ? { from: from.value } : {}),
          ...(until ? { until: until.value } : {}),
        },
        echo,
      };
    }
  }
}

/**
 * What a resumption token carries: the list's arguments (the `until` given, or none: a harvest
 * without an upper bound also returns records changed while it runs, so none is missed), the
 * `seq` of the last record handed out, how many were handed out before the next page, the size
 * of the list when it began, and when the token stops being honoured (epoch seconds).
 */
export const ResumptionState = z
  .object({
    v: z.literal(1),
    verb: z.enum(['ListIdentifiers', 'ListRecords']),
    prefix: z.string().min(1).max(200),
    set: z.string().max(2000).optional(),
    from: z.string().regex(SECONDS).optional(),
    until: z.string().regex(SECONDS).optional(),
    after: z.number().int().nonnegative(),
    cursor: z.number().int().nonnegative(),
    size: z.number().int().nonnegative(),
    expires: z.number().int().positive(),
  })
  .strict();
export type ResumptionState = z.infer<typeof ResumptionState>;

export function encodeResumption(state: ResumptionState, sign: (value: string) => string): string {
  return sign(Buffer.from(JSON.stringify(state)).toString('base64url'));
}

/** The token's state, or why it is refused (forged, tampered with, expired, of another verb). */
export function decodeResumption(
  token: string,
  verb: 'ListIdentifiers' | 'ListRecords',
  nowSeconds: number,
  unsign: (signed: string) => string | undefined,
): { ok: true; state: ResumptionState } | { ok: false; error: OaiError } {
  const bad = (message: string) => ({ ok: false as const, error: { code: 'badResumptionToken' as const, message } });
  const value = unsign(token);
  if (value === undefined) return bad('The resumptionToken was not issued by this repository.');
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    return bad('The resumptionToken cannot be read.');
  }
  const parsed = ResumptionState.safeParse(json);
  if (!parsed.success) return bad('The resumptionToken cannot be read.');
  if (parsed.data.verb !== verb) return bad(`The resumptionToken belongs to ${parsed.data.verb}, not ${verb}.`);
  if (parsed.data.expires <= nowSeconds) return bad('The resumptionToken has expired; start the list again.');
  return { ok: true, state: parsed.data };
}

/** `oai:{repositoryIdentifier}:{objectId}` */
export function oaiIdentifier(repositoryIdentifier: string, objectId: string): string {
  return `oai:${repositoryIdentifier}:${objectId}`;
}

/** The object id an OAI identifier of this repository names, or undefined (idDoesNotExist). */
export function objectIdOf(repositoryIdentifier: string, identifier: string): string | undefined {
  const prefix = `oai:${repositoryIdentifier}:`;
  if (!identifier.startsWith(prefix)) return undefined;
  const id = identifier.slice(prefix.length);
  return /^[a-z0-9][a-z0-9_-]{0,63}$/.test(id) ? id : undefined;
}

/** A time as an OAI datestamp / responseDate (UTC, seconds). */
export function utcSeconds(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + 'Z';
}
