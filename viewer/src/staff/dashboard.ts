import { api, ApiError } from './api.ts';
import { announce } from './page.ts';

/**
 * The preservation dashboard and the provenance timeline: "re-check now" asks the server to
 * check every copy of that work (POST /api/objects/:id/fixity-check, 202); the results come
 * into the timeline when the fixity worker has run.
 */
interface Queued {
  objectId: string;
  alreadyQueued: boolean;
  messages: { vi: string; en: string };
}

function recheck(objectId: string, button: HTMLButtonElement): void {
  button.disabled = true;
  api<Queued>('POST', `/api/objects/${encodeURIComponent(objectId)}/fixity-check`)
    .then((res) => {
      button.disabled = false;
      button.dataset.queued = 'true';
      announce(res.data.messages, 'ok');
    })
    .catch((err: unknown) => {
      button.disabled = false;
      announce(err instanceof ApiError ? err.messages : String(err), 'error');
    });
}

export function start(): void {
  document.addEventListener('click', (event) => {
    const button = (event.target as Element | null)?.closest<HTMLButtonElement>('button.recheck');
    const objectId = button?.dataset.objectId;
    if (button && objectId) recheck(objectId, button);
  });
  const form = document.getElementById('recheck-form');
  if (form instanceof HTMLFormElement) {
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const objectId = String(new FormData(form).get('objectId') ?? '').trim();
      const button = form.querySelector<HTMLButtonElement>('button[type="submit"]');
      if (objectId && button) recheck(objectId, button);
    });
  }
}
