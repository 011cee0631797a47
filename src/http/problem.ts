import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { SearchUnavailableError } from '../search/port.ts';
import { ZodError } from 'zod';
import { DomainError, type Bilingual } from '../domain/errors.ts';
import { EventSchemaError } from '../domain/events.ts';
import { IngestError } from '../application/ingest.ts';
import { DigestHeaderError, StagingError } from '../storage/digest.ts';
import { FileNameError } from '../storage/file-name.ts';
import { FormatError } from '../storage/format.ts';
import { isNoSpace } from '../storage/disk-space.ts';
import { MultipartError } from './multipart.ts';
import { RevisionConflictError } from '../application/command-handler.ts';
import { EventStoreUnavailableError, IdempotencyConflictError, WrongExpectedVersionError } from '../eventstore/port.ts';

/**
 * Errors as RFC 9457 problem details. `type` is a stable machine code (a relative URI
 * under /problems/), `detail` is in the language the client prefers (Vietnamese unless it
 * asks for English), and `messages` carries both for clients that show either.
 */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly messages: Bilingual,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(messages.en);
    this.name = 'Problem';
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  507: 'Insufficient Storage',
};

const DOMAIN_STATUS: Record<DomainError['code'], number> = {
  'invalid-input': 422,
  'not-found': 404,
  'already-exists': 409,
  withdrawn: 409,
  'invalid-order': 422,
};

export function prefersEnglish(ctx: Context): boolean {
  return ctx.acceptsLanguages('vi', 'en') === 'en';
}

/**
 * A field's refusal in plain words, both languages. zod's own defaults ("Invalid input: expected
 * string, received undefined", "Too small: expected string to have >=1 characters") are English
 * engineering text: the ones a form meets (a field left out, left empty, too long) are said
 * plainly here; a schema's own message ("vi / en", the project's form) is split in two.
 */
function plainIssue(i: ZodError['issues'][number]): Bilingual {
  if (i.code === 'unrecognized_keys') {
    return { vi: `trường không được hỗ trợ: ${i.keys.join(', ')}`, en: `unknown field(s): ${i.keys.join(', ')}` };
  }
  if (i.code === 'invalid_type' && /received undefined$/.test(i.message)) {
    return { vi: 'bắt buộc, chưa được điền', en: 'required, and missing' };
  }
  if (i.code === 'too_small' && i.origin === 'string' && Number(i.minimum) === 1) {
    return { vi: 'không được để trống', en: 'must not be empty' };
  }
  if (i.code === 'too_big' && i.origin === 'string') {
    return { vi: `quá dài: tối đa ${String(i.maximum)} ký tự`, en: `too long: at most ${String(i.maximum)} characters` };
  }
  const [vi, en, ...more] = i.message.split(' / ');
  return more.length === 0 && vi && en ? { vi, en } : { vi: i.message, en: i.message };
}

function zodMessages(err: ZodError): { messages: Bilingual; errors: Array<{ field: string; message: string; messages: Bilingual }> } {
  const errors = err.issues.map((i) => {
    const messages = plainIssue(i);
    // `message` keeps the one-string form ("vi / en") clients already read; `messages` has each language.
    return { field: i.path.length ? i.path.join('.') : '(body)', message: messages.vi === messages.en ? messages.vi : `${messages.vi} / ${messages.en}`, messages };
  });
  return {
    messages: {
      vi: `Dữ liệu không hợp lệ — ${errors.map((e) => `${e.field}: ${e.messages.vi}`).join('; ')}`,
      en: `Invalid input — ${errors.map((e) => `${e.field}: ${e.messages.en}`).join('; ')}`,
    },
    errors,
  };
}

export function toProblem(err: unknown): Problem {
  if (err instanceof Problem) return err;
  if (err instanceof ZodError) {
    const { messages, errors } = zodMessages(err);
    return new Problem(400, 'invalid-input', messages, { errors });
  }
  if (err instanceof DomainError) {
    return new Problem(DOMAIN_STATUS[err.code], err.code, err.messages, err.detail);
  }
  if (err instanceof IngestError || err instanceof MultipartError) {
    return new Problem(err.status, err.code, err.messages, err.detail);
  }
  if (err instanceof FormatError) return new Problem(422, err.code, err.messages, err.detail);
  if (err instanceof FileNameError) return new Problem(400, err.code, err.messages, err.detail);
  if (err instanceof DigestHeaderError) {
    return new Problem(400, 'invalid-digest-header', {
      vi: `Tiêu đề giá trị băm không hợp lệ (${err.message}); dùng dạng RFC 9530, ví dụ Content-Digest: sha-256=:BASE64:`,
      en: `Invalid digest header (${err.message}); use RFC 9530 form, e.g. Content-Digest: sha-256=:BASE64:`,
    });
  }
  if (err instanceof StagingError) {
    if (err.code === 'too-large') {
      return new Problem(413, 'file-too-large', { vi: 'Tệp vượt quá dung lượng cho phép.', en: 'The file is larger than allowed.' }, err.detail);
    }
    return new Problem(400, 'upload-interrupted', {
      vi: 'Việc tải lên bị gián đoạn trước khi xong; không có gì được lưu. Hãy gửi lại.',
      en: 'The upload was interrupted before it finished; nothing was stored. Send it again.',
    });
  }
  if (err instanceof RevisionConflictError && err.winner) {
    const current = err.actual === 'no_stream' ? null : Number(err.actual);
    const w = err.winner;
    const who = `${w.actor.id} (${w.actor.role})`;
    const more = err.changesSince > 1;
    return new Problem(
      409,
      'revision-conflict',
      {
        vi: `Bản ghi đã được ${who} sửa lúc ${w.occurredAt} (${w.type}${more ? `, cùng ${err.changesSince - 1} thay đổi khác` : ''}) sau phiên bản ${err.expected} mà bạn đã đọc; phiên bản hiện tại: ${current}. Hãy tải lại rồi sửa tiếp.`,
        en: `The record was changed by ${who} at ${w.occurredAt} (${w.type}${more ? `, and ${err.changesSince - 1} more change${err.changesSince > 2 ? 's' : ''}` : ''}) after revision ${err.expected}, which you read; current revision: ${current}. Reload it and apply your edit again.`,
      },
      {
        currentRevision: current,
        changedBy: { id: w.actor.id, role: w.actor.role },
        changedAt: w.occurredAt,
        change: w.type,
        changesSince: err.changesSince,
      },
    );
  }
  if (err instanceof WrongExpectedVersionError) {
    const current = err.actual === 'no_stream' ? null : Number(err.actual);
    return new Problem(
      409,
      'revision-conflict',
      {
        vi: `Phiên bản ${String(err.expected)} trong If-Match không khớp phiên bản hiện tại của bản ghi (${current}). Hãy tải lại rồi sửa tiếp.`,
        en: `Revision ${String(err.expected)} in If-Match is not the record's current revision (${current}). Reload it and apply your edit again.`,
      },
      { currentRevision: current },
    );
  }
  if (err instanceof IdempotencyConflictError) {
    return new Problem(409, 'idempotency-conflict', { vi: 'Mã sự kiện đã được dùng cho một thao tác khác.', en: err.message });
  }
  if (err instanceof EventStoreUnavailableError) {
    return new Problem(503, 'event-store-unavailable', {
      vi: 'Kho sự kiện tạm thời không truy cập được; vui lòng thử lại sau.',
      en: 'The event store is unavailable; please retry later.',
    });
  }
  if (err instanceof SearchUnavailableError) return new Problem(503, 'search-unavailable', err.messages);
  // The log, the read model or a file on a full disk (RFC 4918 §11.5): nothing was stored.
  if (isNoSpace(err)) {
    return new Problem(507, 'insufficient-storage', {
      vi: 'Ổ đĩa của kho đã đầy; thay đổi chưa được lưu. Hãy báo quản trị viên giải phóng dung lượng rồi thử lại.',
      en: 'The repository’s disk is full; the change was not saved. Ask the administrator to free space, then try again.',
    });
  }
  if (err instanceof EventSchemaError) {
    return new Problem(500, 'corrupt-event', { vi: 'Một sự kiện đã lưu không đọc được; hãy báo quản trị viên.', en: err.message });
  }
  // koa's own errors (ctx.throw, body parser) carry a status.
  const status = (err as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const message = (err as Error).message;
    return new Problem(status, 'http-error', { vi: message, en: message });
  }
  return new Problem(500, 'internal', {
    vi: 'Lỗi máy chủ nội bộ; lỗi đã được ghi nhật ký.',
    en: 'Internal server error; it has been logged.',
  });
}

export function sendProblem(ctx: Context, problem: Problem): void {
  ctx.status = problem.status;
  ctx.type = 'application/problem+json; charset=utf-8';
  ctx.body = {
    type: `/problems/${problem.code}`,
    title: TITLES[problem.status] ?? 'Error',
    status: problem.status,
    detail: prefersEnglish(ctx) ? problem.messages.en : problem.messages.vi,
    instance: ctx.path,
    messages: problem.messages,
    ...problem.extra,
  };
}

export function problemMiddleware(logger: Logger) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new Problem(404, 'not-found', {
          vi: `Không có tài nguyên nào ở ${ctx.path}.`,
          en: `Nothing is served at ${ctx.path}.`,
        });
      }
    } catch (err) {
      const problem = toProblem(err);
      if (problem.status >= 500) logger.error({ err, path: ctx.path, method: ctx.method }, 'request failed');
      sendProblem(ctx, problem);
    }
  };
}
