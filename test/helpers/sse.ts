/**
 * A GraphQL subscription over Server-Sent Events (Yoga's distinct-connections mode): POSTs the
 * operation with `Accept: text/event-stream` and hands each `next` payload to `onNext` until
 * `close()`. The response is returned so callers can check its status and headers.
 */
export async function subscribeSse(
  url: string,
  bearer: string,
  query: string,
  onNext: (payload: any) => void,
): Promise<{ response: Response; close(): void }> {
  const controller = new AbortController();
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ query }),
    signal: controller.signal,
  });
  if (response.ok && response.body) {
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    void (async () => {
      let buffer = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffer += value;
          let at: number;
          while ((at = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, at);
            buffer = buffer.slice(at + 2);
            const data = block.split('\n').find((l) => l.startsWith('data: '));
            if (block.startsWith('event: next') && data) onNext(JSON.parse(data.slice(6)));
          }
        }
      } catch {
        // closed
      }
    })();
  }
  return { response, close: () => controller.abort() };
}

/**
 * What the server answers a subscription before any event: its status, whether a stream opened
 * (cancelled at once, so a test expecting a refusal fails rather than holding the server open),
 * and its first error when refused.
 */
export async function subscriptionAnswer(
  url: string,
  bearer: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<{ status: number; stream: boolean; error: any; raw: string }> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ query, variables }),
  });
  if (/text\/event-stream/.test(res.headers.get('content-type') ?? '')) {
    await res.body?.cancel();
    return { status: res.status, stream: true, error: undefined, raw: '' };
  }
  const raw = await res.text();
  return { status: res.status, stream: false, error: JSON.parse(raw).errors?.[0], raw };
}
