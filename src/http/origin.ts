/**
 * A web origin as a page has it (`window.location.origin`): http(s) scheme, host and port,
 * nothing after. The IIIF token service posts tokens to one, and THUKHO_IIIF_AUTH_ORIGINS lists them.
 */
export function validOrigin(raw: string | undefined): string | undefined {
  if (!raw || raw.length > 300) return undefined;
  try {
    const url = new URL(raw);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === raw ? raw : undefined;
  } catch {
    return undefined;
  }
}
