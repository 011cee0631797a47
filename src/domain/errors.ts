/**
 * Errors the domain raises. Each carries a machine code (used as the problem+json `type`),
 * the offending input, and a message in Vietnamese and English, because the people who read
 * them are librarians first and integrators second.
 */
export type DomainErrorCode =
  | 'invalid-input'
  | 'not-found'
  | 'already-exists'
  | 'withdrawn'
  | 'invalid-order';

export interface Bilingual {
  vi: string;
  en: string;
}

export class DomainError extends Error {
  readonly code: DomainErrorCode;
  readonly messages: Bilingual;
  readonly detail: Record<string, unknown>;

  constructor(code: DomainErrorCode, messages: Bilingual, detail: Record<string, unknown> = {}) {
    super(messages.en);
    this.name = 'DomainError';
    this.code = code;
    this.messages = messages;
    this.detail = detail;
  }
}
