import type { AccessLevel } from '../domain/metadata.ts';

/**
 * The IIIF authorization services a restricted image declares, free of HTTP: where a client
 * learns that signing in (or coming to the reading room) would show the image.
 *
 * - IIIF Authorization Flow 2.0 (https://iiif.io/api/auth/2.0/): a probe service per image,
 *   whose access services are our sign-in page (`active`) and the reading room's IP ranges
 *   (`external`), each with the token service, and the active one with a logout service.
 * - IIIF Authentication 1.0 (https://iiif.io/api/auth/1.0/) beside it, with the same sign-in
 *   page as its login service: Mirador 4.0 (the newest on npm) speaks only 1.0, and a library
 *   embedding Mirador is the case this exists for. The 1.0 token service has its own path,
 *   because its message has another shape.
 *
 * Confidential images declare nothing: for everyone but staff they do not exist. Open ones
 * need nothing.
 */
export const AUTH2_CONTEXT = 'http://iiif.io/api/auth/2/context.json';

export const AUTH_PATHS = {
  probe: '/iiif/auth/probe',
  access: '/iiif/auth/access',
  readingRoom: '/iiif/auth/reading-room',
  token: '/iiif/auth/token',
  tokenV1: '/iiif/auth/v1/token',
  logout: '/iiif/auth/logout',
} as const;

type LanguageMap = Record<'vi' | 'en', string[]>;
const text = (vi: string, en: string): LanguageMap => ({ vi: [vi], en: [en] });

/** What a client shows before, during and after signing in (Auth 2 language maps). */
export const AUTH_TEXT = {
  label: text('Đăng nhập để xem', 'Sign in to view'),
  heading: text('Tài liệu hạn chế', 'Restricted material'),
  note: text(
    'Ảnh của tài liệu này chỉ dành cho bạn đọc đã đăng ký của thư viện hoặc tại phòng đọc. Hãy đăng nhập bằng tài khoản bạn đọc.',
    'The images of this item are for the library’s registered readers or its reading room. Sign in with your reader account.',
  ),
  confirmLabel: text('Đăng nhập', 'Sign in'),
  readingRoom: text('Phòng đọc của thư viện', 'The library’s reading room'),
  logout: text('Đăng xuất', 'Sign out'),
  withdrawnHeading: text('Tài liệu đã được rút khỏi kho', 'Withdrawn material'),
  withdrawnNote: text('Tài liệu này đã được rút khỏi kho và không còn được phục vụ.', 'This item has been withdrawn and is no longer served.'),
  missingHeading: text('Chưa đăng nhập', 'Not signed in'),
  missingNote: text(
    'Chưa có phiên đăng nhập nào của bạn đọc cho thư viện này, và máy này không ở trong phòng đọc.',
    'You are not signed in as a reader of this library, and this computer is not in the reading room.',
  ),
  originHeading: text('Trang xem không được phép', 'Viewer not allowed'),
  originNote: text('Trang web đang hiển thị ảnh này không được thư viện cho phép nhận mã truy cập.', 'The site showing this image is not allowed to receive access tokens from the library.'),
} as const;

/** One string for Auth 1.0 clients, which show plain strings: Vietnamese first, then English. */
const both = (m: LanguageMap) => `${m.vi[0]} / ${m.en[0]}`;

export function probeUrl(base: string, imageId: string): string {
  return `${base}${AUTH_PATHS.probe}/${imageId}`;
}

/**
 * The Auth 2.0 probe service of a restricted image, with its access services (sign-in, and the
 * reading room) and their token and logout services. It goes on the painting image in the
 * manifest, beside the image service (the resource a viewer is refused), not inside the image
 * service or its info.json: Mirador 4.0 reads every service there through `profile`, which
 * Auth 2.0 services (but the access service) do not have, and stops loading the image when it
 * meets one.
 */
export function probeService(base: string, imageId: string): Record<string, unknown> {
  const token = { id: `${base}${AUTH_PATHS.token}`, type: 'AuthAccessTokenService2' };
  return {
    id: probeUrl(base, imageId),
    type: 'AuthProbeService2',
    service: [
      {
        id: `${base}${AUTH_PATHS.access}`,
        type: 'AuthAccessService2',
        profile: 'active',
        label: AUTH_TEXT.label,
        heading: AUTH_TEXT.heading,
        note: AUTH_TEXT.note,
        confirmLabel: AUTH_TEXT.confirmLabel,
        errorHeading: AUTH_TEXT.missingHeading,
        errorNote: AUTH_TEXT.missingNote,
        service: [token, { id: `${base}${AUTH_PATHS.logout}`, type: 'AuthLogoutService2', label: AUTH_TEXT.logout }],
      },
      {
        id: `${base}${AUTH_PATHS.readingRoom}`,
        type: 'AuthAccessService2',
        profile: 'external',
        label: AUTH_TEXT.readingRoom,
        service: [token],
      },
    ],
  };
}

/**
 * The Auth 1.0 login service, on the image service (in the manifest and in info.json), where
 * 1.0 clients look for it. No inline `@context`: Presentation 3 allows one only on the root,
 * and 1.0 clients know the service by its `profile`.
 */
export function loginServiceV1(base: string): Record<string, unknown> {
  return {
    '@id': `${base}${AUTH_PATHS.access}`,
    '@type': 'AuthCookieService1',
    profile: 'http://iiif.io/api/auth/1/login',
    label: both(AUTH_TEXT.label),
    header: both(AUTH_TEXT.heading),
    description: both(AUTH_TEXT.note),
    confirmLabel: both(AUTH_TEXT.confirmLabel),
    failureHeader: both(AUTH_TEXT.missingHeading),
    failureDescription: both(AUTH_TEXT.missingNote),
    service: [
      { '@id': `${base}${AUTH_PATHS.tokenV1}`, '@type': 'AuthTokenService1', profile: 'http://iiif.io/api/auth/1/token' },
      { '@id': `${base}${AUTH_PATHS.logout}`, '@type': 'AuthLogoutService1', profile: 'http://iiif.io/api/auth/1/logout', label: both(AUTH_TEXT.logout) },
    ],
  };
}

/** Whether a work's images need the services: only restricted ones (open: no need; confidential: they do not exist). */
export function needsAuthServices(level: AccessLevel): boolean {
  return level === 'restricted';
}

export type ProbeStatus = 200 | 401 | 410;

/** The probe's answer (AuthProbeResult2): the status the image's own requests would get now. */
export function probeResult(base: string, imageId: string, status: ProbeStatus): Record<string, unknown> {
  const result: Record<string, unknown> = { '@context': AUTH2_CONTEXT, id: probeUrl(base, imageId), type: 'AuthProbeResult2', status };
  if (status === 401) Object.assign(result, { heading: AUTH_TEXT.heading, note: AUTH_TEXT.note });
  if (status === 410) Object.assign(result, { heading: AUTH_TEXT.withdrawnHeading, note: AUTH_TEXT.withdrawnNote });
  return result;
}

/** Why a token service gave no token (Auth 2.0 §AuthAccessTokenError2 profiles that we use). */
export type TokenErrorProfile = 'invalidRequest' | 'invalidOrigin' | 'missingAspect';

export function tokenMessage(messageId: string, token: { accessToken: string; expiresIn: number }): Record<string, unknown> {
  return { '@context': AUTH2_CONTEXT, type: 'AuthAccessToken2', accessToken: token.accessToken, expiresIn: token.expiresIn, messageId };
}

export function tokenErrorMessage(messageId: string, profile: TokenErrorProfile): Record<string, unknown> {
  const words =
    profile === 'invalidOrigin'
      ? { heading: AUTH_TEXT.originHeading, note: AUTH_TEXT.originNote }
      : { heading: AUTH_TEXT.missingHeading, note: AUTH_TEXT.missingNote };
  return { '@context': AUTH2_CONTEXT, type: 'AuthAccessTokenError2', profile, messageId, ...words };
}

/** The same answers in Auth 1.0's shapes (§2.2.3 and §2.2.4 of that spec). */
export function tokenMessageV1(messageId: string | undefined, token: { accessToken: string; expiresIn: number }): Record<string, unknown> {
  return { accessToken: token.accessToken, expiresIn: token.expiresIn, ...(messageId !== undefined ? { messageId } : {}) };
}

const V1_ERRORS: Record<TokenErrorProfile, string> = { invalidRequest: 'invalidRequest', invalidOrigin: 'invalidOrigin', missingAspect: 'missingCredentials' };

export function tokenErrorMessageV1(messageId: string | undefined, profile: TokenErrorProfile): Record<string, unknown> {
  const note = profile === 'invalidOrigin' ? AUTH_TEXT.originNote : AUTH_TEXT.missingNote;
  return { error: V1_ERRORS[profile], description: both(note), ...(messageId !== undefined ? { messageId } : {}) };
}
