import test from 'ava';
import {
  parseAccessService,
  parseProbeResult,
  parseProbeService,
  parseTokenMessage,
  probeFailure,
  probeServiceOf,
  probeTokens,
  tokenFailure,
  TokenStore,
  withParams,
} from '../../viewer/src/auth.ts';
import { parseManifest } from '../../viewer/src/manifest.ts';

/**
 * The pure half of the viewer's IIIF Authorization Flow 2.0 client (viewer/src/auth.ts): what
 * it reads from service descriptions, probe answers and token messages. The JSON below is
 * written out by hand from the examples in the spec (https://iiif.io/api/auth/2.0/, the
 * section named beside each), with the spec's `// ...` placeholders filled in minimally.
 */

const CONTEXT = 'http://iiif.io/api/auth/2/context.json';

// §2.1 Declaring Services: an access-controlled resource with its probe, access, token and logout services.
const SPEC_RESOURCE = {
  id: 'https://auth.example.org/my-video.mp4',
  type: 'Video',
  service: [
    {
      id: 'https://auth.example.org/probe/my-video',
      type: 'AuthProbeService2',
      service: [
        {
          id: 'https://auth.example.org/login',
          type: 'AuthAccessService2',
          profile: 'active',
          label: { en: ['Login to Example Institution'] },
          service: [
            {
              id: 'https://auth.example.org/token',
              type: 'AuthAccessTokenService2',
            },
            {
              id: 'https://auth.example.org/logout',
              type: 'AuthLogoutService2',
              label: { en: ['Logout from Example Institution'] },
            },
          ],
        },
      ],
    },
  ],
};

// §3.3.1 Active Interaction Pattern, "Complete Service Description" (its token service from §2.1).
const SPEC_ACTIVE = {
  id: 'https://auth.example.org/login',
  type: 'AuthAccessService2',
  profile: 'active',
  label: { en: ['Login to Example Institution'] },
  heading: { en: ['Please Log In'] },
  note: { en: ['Example Institution requires that you log in with your example account to view this content.'] },
  confirmLabel: { en: ['Login'] },
  service: [{ id: 'https://auth.example.org/token', type: 'AuthAccessTokenService2' }],
};

// §3.3.2 Kiosk Interaction Pattern: "service" is a single object there, not an array.
const SPEC_KIOSK = {
  id: 'https://auth.example.org/cookiebaker',
  type: 'AuthAccessService2',
  profile: 'kiosk',
  service: { id: 'https://auth.example.org/token', type: 'AuthAccessTokenService2' },
};

// §3.3.3 External Interaction Pattern: no id at all.
const SPEC_EXTERNAL = {
  type: 'AuthAccessService2',
  profile: 'external',
  label: { en: ['External Authentication Required'] },
  service: { id: 'https://auth.example.org/token', type: 'AuthAccessTokenService2' },
};

// §4.1 Access Token Service Description, "Example Service Description".
const SPEC_PROBE_WITH_ERRORS = {
  id: 'https://auth.example.org/probe',
  type: 'AuthProbeService2',
  service: [
    {
      id: 'https://auth.example.org/login',
      type: 'AuthAccessService2',
      profile: 'active',
      label: { en: ['Login to Example Institution'] },
      service: [
        {
          id: 'https://auth.example.org/token',
          type: 'AuthAccessTokenService2',
          errorHeading: { en: ['Something went wrong'] },
          errorNote: { en: ['Could not get a token.'] },
        },
      ],
    },
  ],
};

test('§2.1: the probe service of a resource, its active access service, token and logout services', (t) => {
  const probe = probeServiceOf(SPEC_RESOURCE.service);
  t.deepEqual(probe, {
    id: 'https://auth.example.org/probe/my-video',
    access: [
      {
        id: 'https://auth.example.org/login',
        profile: 'active',
        label: { en: ['Login to Example Institution'] },
        heading: {},
        note: {},
        confirmLabel: {},
        token: { id: 'https://auth.example.org/token', errorHeading: {}, errorNote: {} },
        logout: { id: 'https://auth.example.org/logout', label: { en: ['Logout from Example Institution'] } },
      },
    ],
    errorHeading: {},
    errorNote: {},
  });
});

test('§3.3.1: the active pattern’s user interface strings', (t) => {
  const s = parseAccessService(SPEC_ACTIVE);
  t.is(s?.profile, 'active');
  t.deepEqual(s?.heading, { en: ['Please Log In'] });
  t.deepEqual(s?.note, { en: ['Example Institution requires that you log in with your example account to view this content.'] });
  t.deepEqual(s?.confirmLabel, { en: ['Login'] });
  t.is(s?.logout, undefined, 'the logout service is optional');
});

test('§3.3.2 and §3.3.3: kiosk and external, with a single-object service; an external id is ignored', (t) => {
  const kiosk = parseAccessService(SPEC_KIOSK);
  t.is(kiosk?.id, 'https://auth.example.org/cookiebaker');
  t.is(kiosk?.token.id, 'https://auth.example.org/token');
  const external = parseAccessService(SPEC_EXTERNAL);
  t.is(external?.profile, 'external');
  t.is(external?.id, undefined);
  t.false(external !== undefined && 'id' in external);
  // "Any URI specified in the id property MUST be ignored."
  t.is(parseAccessService({ ...SPEC_EXTERNAL, id: 'https://auth.example.org/ignored' })?.id, undefined);
});

test('§3.3: access services are tried external, kiosk, active, whatever order they are declared in', (t) => {
  const probe = parseProbeService({ id: 'https://auth.example.org/probe', type: 'AuthProbeService2', service: [SPEC_ACTIVE, SPEC_KIOSK, SPEC_EXTERNAL] });
  t.deepEqual(probe?.access.map((s) => s.profile), ['external', 'kiosk', 'active']);
});

test('§4.1: a token service’s default error text', (t) => {
  const probe = parseProbeService(SPEC_PROBE_WITH_ERRORS);
  t.deepEqual(probe?.access[0]?.token, {
    id: 'https://auth.example.org/token',
    errorHeading: { en: ['Something went wrong'] },
    errorNote: { en: ['Could not get a token.'] },
  });
});

test('what cannot be used is left out: no token service, no id for active or kiosk, unknown profile, not http(s)', (t) => {
  t.is(parseAccessService({ ...SPEC_ACTIVE, service: [] }), undefined);
  t.is(parseAccessService({ ...SPEC_ACTIVE, id: undefined }), undefined);
  t.is(parseAccessService({ ...SPEC_KIOSK, id: undefined }), undefined);
  t.is(parseAccessService({ ...SPEC_ACTIVE, profile: 'http://iiif.io/api/auth/1/login' }), undefined);
  t.is(parseAccessService({ ...SPEC_ACTIVE, id: 'javascript:alert(1)' }), undefined);
  t.is(parseProbeService({ id: 'ftp://auth.example.org/probe', type: 'AuthProbeService2', service: [] }), undefined);
  // A probe with no usable access service still says whether the resource can be seen.
  t.deepEqual(parseProbeService({ id: 'https://auth.example.org/probe', type: 'AuthProbeService2', service: [{ type: 'AuthAccessService2' }] })?.access, []);
});

test('an Auth 1.0 cookie service beside the probe (for viewers that speak only 1.0) is passed over', (t) => {
  const services = [
    {
      '@context': 'http://iiif.io/api/auth/1/context.json',
      '@id': 'https://auth.example.org/login',
      '@type': 'AuthCookieService1',
      profile: 'http://iiif.io/api/auth/1/login',
      label: 'Login to Example Institution',
      service: [{ '@id': 'https://auth.example.org/token1', '@type': 'AuthTokenService1', profile: 'http://iiif.io/api/auth/1/token' }],
    },
    ...SPEC_RESOURCE.service,
  ];
  t.is(probeServiceOf(services)?.id, 'https://auth.example.org/probe/my-video');
  t.is(probeServiceOf([services[0]]), undefined);
});

test('§5.2: probe results', (t) => {
  t.deepEqual(parseProbeResult({ '@context': CONTEXT, type: 'AuthProbeResult2', status: 200 }), { status: 200, heading: {}, note: {} });
  t.deepEqual(parseProbeResult({ '@context': CONTEXT, type: 'AuthProbeResult2', status: 401, heading: { en: ["You can't see this"] }, note: { en: ['Sorry'] } }), {
    status: 401,
    heading: { en: ["You can't see this"] },
    note: { en: ['Sorry'] },
  });
  // Substitutes and redirects are not used by this viewer: the status is what counts.
  t.is(parseProbeResult({ '@context': CONTEXT, type: 'AuthProbeResult2', status: 401, substitute: [{ id: 'https://auth.example.org/my-video-lo-res.mp4', type: 'Video' }] })?.status, 401);
  t.is(parseProbeResult({ '@context': CONTEXT, type: 'AuthProbeResult2', status: 302, location: { id: 'https://auth-cdn-2.example.org/my-video.m3u8', type: 'Video' } })?.status, 302);
  // Not a probe result: another type, no status, a status that is no HTTP status.
  t.is(parseProbeResult({ '@context': CONTEXT, type: 'AuthAccessToken2', status: 200 }), undefined);
  t.is(parseProbeResult({ '@context': CONTEXT, type: 'AuthProbeResult2' }), undefined);
  t.is(parseProbeResult({ '@context': CONTEXT, type: 'AuthProbeResult2', status: '200' }), undefined);
  t.is(parseProbeResult({ '@context': CONTEXT, type: 'AuthProbeResult2', status: 2000 }), undefined);
  t.is(parseProbeResult([200]), undefined);
});

test('§4.4 and §4.5: token messages and token errors, for our messageId only', (t) => {
  // §4.4 "Example Access Token Message Body".
  const token = { '@context': CONTEXT, type: 'AuthAccessToken2', accessToken: 'ddc76e416e3804e2369e6c9cee806f5e438a5cdc', expiresIn: 300, messageId: 'ae3415' };
  t.deepEqual(parseTokenMessage(token, 'ae3415'), { kind: 'token', accessToken: 'ddc76e416e3804e2369e6c9cee806f5e438a5cdc', expiresIn: 300 });
  t.is(parseTokenMessage(token, 'another'), undefined, 'clients MUST ignore messageIds they do not recognise');
  t.deepEqual(parseTokenMessage({ ...token, expiresIn: undefined }, 'ae3415'), { kind: 'token', accessToken: 'ddc76e416e3804e2369e6c9cee806f5e438a5cdc' });
  t.deepEqual(parseTokenMessage({ ...token, expiresIn: -5 }, 'ae3415'), { kind: 'token', accessToken: 'ddc76e416e3804e2369e6c9cee806f5e438a5cdc' }, 'a nonsense lifetime is no lifetime');
  t.is(parseTokenMessage({ ...token, accessToken: '' }, 'ae3415'), undefined);
  t.is(parseTokenMessage('{"accessToken":"x","messageId":"ae3415"}', 'ae3415'), undefined, 'a string is not a message object');

  // §4.5 "Example Access Token Error Response".
  const error = {
    '@context': CONTEXT,
    type: 'AuthAccessTokenError2',
    profile: 'missingAspect',
    heading: { en: ['Unauthorized'] },
    note: { en: ['Call Bob at ext. 1234 to refill the cookie jar'] },
    messageId: 'ae3415',
  };
  t.deepEqual(parseTokenMessage(error, 'ae3415'), {
    kind: 'error',
    profile: 'missingAspect',
    heading: { en: ['Unauthorized'] },
    note: { en: ['Call Bob at ext. 1234 to refill the cookie jar'] },
  });
  t.is((parseTokenMessage({ ...error, profile: 'somethingNew' }, 'ae3415') as { profile?: string } | undefined)?.profile, 'unavailable');
});

test('failures say the answer’s own words first, else the service’s defaults', (t) => {
  const probe = parseProbeService({ ...SPEC_PROBE_WITH_ERRORS, errorHeading: { en: ['No access'] }, errorNote: { en: ['Ask at the desk.'] } })!;
  t.deepEqual(probeFailure({ status: 401, heading: {}, note: {} }, probe), { heading: { en: ['No access'] }, note: { en: ['Ask at the desk.'] }, reason: 'probe' });
  t.deepEqual(probeFailure({ status: 401, heading: { en: ["You can't see this"] }, note: { en: ['Sorry'] } }, probe), {
    heading: { en: ["You can't see this"] },
    note: { en: ['Sorry'] },
    reason: 'probe',
  });
  const tokenService = probe.access[0]!.token;
  t.deepEqual(tokenFailure({ kind: 'error', profile: 'missingAspect', heading: {}, note: {} }, tokenService), {
    heading: { en: ['Something went wrong'] },
    note: { en: ['Could not get a token.'] },
    reason: 'token',
  });
});

test('tokens: kept per token service, dropped a little before they expire, sent only to their own probes', (t) => {
  const store = new TokenStore();
  const t0 = 1_000_000;
  store.set('https://auth.example.org/token', 'abc', 300, t0);
  t.is(store.get('https://auth.example.org/token', t0 + 1000), 'abc');
  t.is(store.get('https://auth.example.org/token', t0 + 300_000 - TokenStore.MARGIN_MS), undefined, 'expired (with the margin)');
  store.set('https://auth.example.org/token', 'forever', undefined, t0);
  t.is(store.get('https://auth.example.org/token', t0 + 10 * 365 * 86_400_000), 'forever');
  store.set('https://other.example.org/token', 'elsewhere', 300, t0);

  const probe = probeServiceOf(SPEC_RESOURCE.service)!;
  t.deepEqual(probeTokens(probe, store, t0), ['forever'], 'the other institution’s token is not sent to this probe');
  store.drop('https://auth.example.org/token');
  t.deepEqual(probeTokens(probe, store, t0), []);
});

test('§3.2 and §4.2: origin and messageId are added to the service’s URL, its own parameters kept', (t) => {
  t.is(withParams('https://auth.example.org/login', { origin: 'https://client.example.org' }), 'https://auth.example.org/login?origin=https%3A%2F%2Fclient.example.org');
  t.is(
    withParams('https://auth.example.org/token?realm=a', { messageId: 'ae3415', origin: 'https://client.example.org' }),
    'https://auth.example.org/token?realm=a&messageId=ae3415&origin=https%3A%2F%2Fclient.example.org',
  );
});

test('a manifest’s image service carries its probe service to the viewer; an open one carries none', (t) => {
  const canvas = (n: number, imageService: Record<string, unknown>, beside: Record<string, unknown>[] = []) => ({
    id: `https://example.org/canvas/${n}`,
    type: 'Canvas',
    width: 1000,
    height: 1500,
    items: [
      {
        id: `https://example.org/canvas/${n}/page`,
        type: 'AnnotationPage',
        items: [
          {
            id: `https://example.org/canvas/${n}/page/1`,
            type: 'Annotation',
            motivation: 'painting',
            target: `https://example.org/canvas/${n}`,
            body: { id: `https://example.org/iiif/${n}/full/max/0/default.jpg`, type: 'Image', service: [imageService, ...beside] },
          },
        ],
      },
    ],
  });
  const restricted = { id: 'https://example.org/iiif/1', type: 'ImageService3', profile: 'level2', service: SPEC_RESOURCE.service };
  const open = { id: 'https://example.org/iiif/2', type: 'ImageService3', profile: 'level2' };
  const parsed = parseManifest({
    '@context': 'http://iiif.io/api/presentation/3/context.json',
    id: 'https://example.org/manifest',
    type: 'Manifest',
    label: { en: ['Test'] },
    // The third as thukho declares it: the probe on the image, beside its image service.
    items: [canvas(1, restricted), canvas(2, open), canvas(3, { ...open, id: 'https://example.org/iiif/3' }, SPEC_RESOURCE.service as Record<string, unknown>[])],
  });
  if (!parsed.ok) return t.fail(JSON.stringify(parsed.error));
  t.is(parsed.manifest.canvases[0]?.service?.probe?.id, 'https://auth.example.org/probe/my-video');
  t.deepEqual(parsed.manifest.canvases[1]?.service, { id: 'https://example.org/iiif/2', version: 3, level: 2 });
  t.is(parsed.manifest.canvases[2]?.service?.id, 'https://example.org/iiif/3');
  t.is(parsed.manifest.canvases[2]?.service?.probe?.id, 'https://auth.example.org/probe/my-video');
});
