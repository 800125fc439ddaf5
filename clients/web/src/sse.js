// Server-Sent Events over fetch(): EventSource cannot send the
// Authorization header, so the stream is read with a ReadableStream. Resumes
// with Last-Event-ID after a dropped connection (the server replays every
// change after it) and reconnects with back-off.

import {authHeaders, ApiError, notifyUnauthenticated} from './api.js';

// watch(path, {lastEventId, onEvent({id, event, data}), onState(state)})
// -> {close()}. `data` is parsed JSON. onState receives 'connecting',
// 'live', 'retrying' or 'closed'; a 401/403/404 ends the watch ('closed').
export function watch(path, {lastEventId = '', onEvent, onState = () => {}, onError = () => {}}) {
  const controller = new AbortController();
  let lastId = lastEventId;
  let delay = 500;
  let closed = false;

  const dispatch = (frame) => {
    if (frame.data === undefined) return;
    if (frame.id !== undefined) lastId = frame.id;
    let data;
    try {
      data = JSON.parse(frame.data);
    } catch {
      return;
    }
    onEvent({id: frame.id ?? lastId, event: frame.event ?? 'message', data});
  };

  async function connectOnce() {
    const headers = authHeaders({Accept: 'text/event-stream'});
    if (lastId) headers['Last-Event-ID'] = lastId;
    const res = await fetch(path, {headers, signal: controller.signal, cache: 'no-store', credentials: 'omit'});
    if (!res.ok) {
      let body = null;
      try {
        body = await res.json();
      } catch {
        // no body
      }
      const err = new ApiError({httpStatus: res.status, status: body?.error?.status ?? '',
        message: body?.error?.message ?? res.statusText, details: body?.error?.details, path});
      if (res.status === 401) notifyUnauthenticated(err);
      throw err;
    }
    onState('live');
    delay = 500;
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let frame = {};
    for (;;) {
      const {value, done} = await reader.read();
      if (done) return;
      buffer += value;
      let nl;
      while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + (buffer.startsWith('\r\n', nl) ? 2 : 1));
        if (line === '') {
          dispatch(frame);
          frame = {};
        } else if (!line.startsWith(':')) {
          const colon = line.indexOf(':');
          const name = colon < 0 ? line : line.slice(0, colon);
          let val = colon < 0 ? '' : line.slice(colon + 1);
          if (val.startsWith(' ')) val = val.slice(1);
          if (name === 'data') frame.data = frame.data === undefined ? val : `${frame.data}\n${val}`;
          else if (name === 'id') frame.id = val;
          else if (name === 'event') frame.event = val;
          else if (name === 'retry' && /^\d+$/.test(val)) delay = Number(val);
        }
      }
    }
  }

  (async () => {
    while (!closed) {
      onState('connecting');
      try {
        await connectOnce();
      } catch (err) {
        if (closed || err?.name === 'AbortError') break;
        if (err instanceof ApiError && [400, 401, 403, 404].includes(err.httpStatus)) {
          onError(err);
          break;
        }
      }
      if (closed) break;
      onState('retrying');
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 15000);
    }
    onState('closed');
  })();

  return {
    close() {
      closed = true;
      controller.abort();
    },
    get lastEventId() {
      return lastId;
    },
  };
}
