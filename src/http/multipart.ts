import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import busboy from 'busboy';
import type { Bilingual } from '../domain/errors.ts';

/**
 * Streaming `multipart/form-data` uploads (as browsers send files), one file per request.
 *
 * `fileFromMultipart` resolves as soon as the file part STARTS: the file is never buffered,
 * it flows from the socket through busboy to whoever reads `stream`, with back-pressure all
 * the way. Consequences for clients: send the ordinary fields (role, sequence, …) BEFORE
 * the file part — browsers' FormData keeps append order — because only fields that came
 * before the file are in `fields` when the promise resolves (later ones are added to the
 * same object as they arrive, but nobody should wait for them).
 *
 * The returned stream ENDS only when the whole form has been received and checked: the file
 * part closed by its boundary, the closing boundary seen, no second file. If the request is
 * cut short (Content-Length not reached, chunked body without its last chunk, socket closed
 * mid-file), the form has no closing boundary, the file exceeds `maxFileBytes`, or a second
 * file follows, the stream is DESTROYED with a `MultipartError` instead, so a consumer that
 * writes it to disk sees an error and never keeps a truncated upload as if it were complete.
 */

export type MultipartErrorCode =
  | 'unsupported-media-type'
  | 'malformed-multipart'
  | 'no-file'
  | 'multiple-files'
  | 'unexpected-file-field'
  | 'file-too-large'
  | 'too-many-fields'
  | 'field-too-large'
  | 'truncated-upload'
  | 'client-disconnected';

export class MultipartError extends Error {
  readonly status: number;
  readonly code: MultipartErrorCode;
  readonly messages: Bilingual;
  readonly detail: Record<string, unknown>;

  constructor(status: number, code: MultipartErrorCode, messages: Bilingual, detail: Record<string, unknown> = {}) {
    super(messages.en);
    this.name = 'MultipartError';
    this.status = status;
    this.code = code;
    this.messages = messages;
    this.detail = detail;
  }
}

export interface MultipartOptions {
  /** Largest file accepted, in bytes; a larger one fails with status 413. */
  maxFileBytes: number;
  /** Name of the form field carrying the file (browsers: `<input type="file" name="file">`). */
  fieldName: string;
  /** Most non-file fields (default 32). */
  maxFields?: number;
  /** Largest non-file field value in bytes (default 16 KiB). */
  maxFieldBytes?: number;
}

export interface MultipartFile {
  /** The file's bytes; ends normally only if the whole form arrived intact (see above). */
  stream: Readable;
  /** The client's file name (UTF-8, last path segment). Untrusted: pass it through `safeFileName`. */
  filename: string;
  /** The Content-Type the client declared for the part. Untrusted: `identifyFile` decides. */
  mimeType: string;
  /** Non-file fields; those sent before the file are present on resolution. */
  fields: Record<string, string>;
}

const DEFAULT_MAX_FIELDS = 32;
const DEFAULT_MAX_FIELD_BYTES = 16 * 1024;
/** Allowance for boundaries, part headers and fields when refusing by Content-Length. */
const ENVELOPE_ALLOWANCE = 1024 * 1024;

function tooLarge(maxFileBytes: number): MultipartError {
  return new MultipartError(
    413,
    'file-too-large',
    {
      vi: `Tệp quá lớn (tối đa ${maxFileBytes.toLocaleString('vi-VN')} byte).`,
      en: `The file is too large (at most ${maxFileBytes.toLocaleString('en-US')} bytes).`,
    },
    { maxFileBytes },
  );
}

function truncated(cause: string): MultipartError {
  return new MultipartError(
    400,
    'truncated-upload',
    {
      vi: 'Dữ liệu tải lên bị cắt cụt (biểu mẫu kết thúc trước ranh giới đóng); tệp không được lưu. Hãy gửi lại.',
      en: 'The upload was cut short (the form ended before its closing boundary); the file was not stored. Send it again.',
    },
    { reason: cause },
  );
}

function malformed(reason: Bilingual, cause: string): MultipartError {
  return new MultipartError(
    400,
    'malformed-multipart',
    { vi: `Nội dung multipart/form-data không hợp lệ: ${reason.vi}`, en: `Malformed multipart/form-data: ${reason.en}` },
    { reason: cause },
  );
}

/** busboy's parse errors (English, terse) as what the client did wrong, in both languages. */
function parseError(err: Error): MultipartError {
  const message = err.message;
  if (/malformed part header/i.test(message)) {
    return malformed(
      { vi: 'phần đầu của một phần trong biểu mẫu sai cú pháp hoặc quá dài.', en: 'a part header is malformed or too long.' },
      message,
    );
  }
  if (/unexpected end of (form|file)/i.test(message)) {
    return truncated(message);
  }
  return malformed({ vi: message, en: message }, message);
}

function disconnected(): MultipartError {
  return new MultipartError(400, 'client-disconnected', {
    vi: 'Máy khách đã ngắt kết nối khi đang gửi tệp; tệp không được lưu.',
    en: 'The client disconnected while sending the file; the file was not stored.',
  });
}

export function fileFromMultipart(
  req: IncomingMessage,
  headers: IncomingHttpHeaders,
  options: MultipartOptions,
): Promise<MultipartFile> {
  const { maxFileBytes, fieldName } = options;
  const maxFields = options.maxFields ?? DEFAULT_MAX_FIELDS;
  const maxFieldBytes = options.maxFieldBytes ?? DEFAULT_MAX_FIELD_BYTES;

  return new Promise<MultipartFile>((resolve, reject) => {
    const declared = Number(headers['content-length'] ?? 'NaN');
    if (Number.isFinite(declared) && declared > maxFileBytes + maxFields * maxFieldBytes + ENVELOPE_ALLOWANCE) {
      // Refuse before reading a byte: the body cannot hold a file small enough.
      reject(tooLarge(maxFileBytes));
      return;
    }

    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers,
        // Browsers send UTF-8 file names raw in `filename="…"`; busboy's default is latin1.
        defParamCharset: 'utf8',
        limits: {
          // busboy reports 'limit' when a file REACHES fileSize: +1 lets exactly maxFileBytes through.
          fileSize: maxFileBytes + 1,
          files: 2,
          fields: maxFields,
          fieldSize: maxFieldBytes,
          parts: maxFields + 2,
        },
      });
    } catch (err) {
      const message = (err as Error).message;
      if (/unsupported content type/i.test(message)) {
        reject(
          new MultipartError(415, 'unsupported-media-type', {
            vi: 'Nội dung phải là multipart/form-data.',
            en: 'The body must be multipart/form-data.',
          }),
        );
      } else if (/boundary not found/i.test(message)) {
        reject(
          malformed(
            {
              vi: 'thiếu tham số boundary trong tiêu đề Content-Type (multipart/form-data; boundary=…).',
              en: 'the Content-Type header has no boundary parameter (multipart/form-data; boundary=…).',
            },
            message,
          ),
        );
      } else {
        reject(parseError(err as Error));
      }
      return;
    }

    const fields: Record<string, string> = {};
    const out = new PassThrough();
    // The consumer may not be listening yet when the client disconnects (it may still be
    // checking the request): keep that from crashing the process. The error stays on the
    // destroyed stream (`out.errored`), so a later pipeline() or for-await still sees it.
    out.on('error', () => {});
    let resolved = false;
    let failed = false;
    let fileEnded = false;
    let formFinished = false;

    const cleanup = () => {
      req.unpipe(bb);
      req.off('aborted', onAborted);
      req.off('error', onReqError);
      req.off('close', onReqClose);
      // Stop parsing; keep a listener so that a late busboy error is not unhandled. Not
      // synchronously: we may be inside one of busboy's own event handlers ('limit' is
      // emitted mid-write and busboy touches its file stream right after), and destroying
      // it there crashes busboy.
      bb.on('error', () => {});
      process.nextTick(() => bb.destroy());
    };

    const fail = (err: MultipartError) => {
      if (failed) return;
      failed = true;
      if (resolved) out.destroy(err);
      else reject(err);
      cleanup();
    };

    const maybeEnd = () => {
      if (!failed && fileEnded && formFinished) {
        req.off('aborted', onAborted);
        req.off('error', onReqError);
        req.off('close', onReqClose);
        out.end();
      }
    };

    const onAborted = () => fail(disconnected());
    const onReqError = () => fail(disconnected());
    const onReqClose = () => {
      if (!req.complete) fail(disconnected());
    };
    req.on('aborted', onAborted);
    req.on('error', onReqError);
    req.on('close', onReqClose);

    // The consumer gave up (its disk filled, it refused the file): stop reading the form.
    out.on('close', () => {
      if (!(fileEnded && formFinished) && !failed) {
        failed = true;
        cleanup();
      }
    });

    bb.on('field', (name, value, info) => {
      if (info.valueTruncated || info.nameTruncated) {
        fail(
          new MultipartError(
            400,
            'field-too-large',
            {
              vi: `Trường "${name}" quá dài (tối đa ${maxFieldBytes} byte).`,
              en: `The field "${name}" is too long (at most ${maxFieldBytes} bytes).`,
            },
            { field: name, maxFieldBytes },
          ),
        );
        return;
      }
      fields[name] = value;
    });

    const tooMany = () =>
      fail(
        new MultipartError(
          400,
          'too-many-fields',
          {
            vi: `Biểu mẫu có quá nhiều trường (tối đa ${maxFields}).`,
            en: `The form has too many fields (at most ${maxFields}).`,
          },
          { maxFields },
        ),
      );
    bb.on('fieldsLimit', tooMany);
    bb.on('partsLimit', tooMany);

    bb.on('file', (name, file, info) => {
      // Every file stream gets an error listener before anything else: busboy destroys the
      // current one with "Unexpected end of file" when the form is cut short or when cleanup
      // stops the parser, and an 'error' nobody listens to ends the whole process. A refused
      // file's error adds nothing (the form has already failed); the kept file's is a truncation.
      if (resolved || failed) {
        file.on('error', () => {});
        file.resume();
        fail(
          new MultipartError(400, 'multiple-files', {
            vi: 'Chỉ được gửi một tệp trong mỗi yêu cầu.',
            en: 'Send only one file per request.',
          }),
        );
        return;
      }
      if (name !== fieldName) {
        file.on('error', () => {});
        file.resume();
        fail(
          new MultipartError(
            400,
            'unexpected-file-field',
            {
              vi: `Tệp phải được gửi trong trường "${fieldName}", không phải "${name}".`,
              en: `The file must be sent in the "${fieldName}" field, not "${name}".`,
            },
            { expected: fieldName, got: name },
          ),
        );
        return;
      }
      file.on('error', (err: Error) => fail(parseError(err)));
      file.on('limit', () => fail(tooLarge(maxFileBytes)));
      file.on('end', () => {
        fileEnded = true;
        maybeEnd();
      });
      file.pipe(out, { end: false });
      resolved = true;
      resolve({ stream: out, filename: info.filename ?? '', mimeType: info.mimeType, fields });
    });

    bb.on('filesLimit', () =>
      fail(
        new MultipartError(400, 'multiple-files', {
          vi: 'Chỉ được gửi một tệp trong mỗi yêu cầu.',
          en: 'Send only one file per request.',
        }),
      ),
    );

    bb.on('error', (err: Error) => fail(parseError(err)));

    bb.on('close', () => {
      formFinished = true;
      if (!resolved) {
        fail(
          new MultipartError(
            400,
            'no-file',
            {
              vi: `Biểu mẫu không có tệp nào trong trường "${fieldName}".`,
              en: `The form has no file in the "${fieldName}" field.`,
            },
            { fieldName },
          ),
        );
        return;
      }
      maybeEnd();
    });

    req.pipe(bb);
  });
}
