// The JavaScript baseline of bench/client_bench.py: n sequential GET me with plain fetch,
// the same options and headers as tokensession's FetchTransport; returns each call's ms.
window.rawMe = async (n, token) => {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const resp = await fetch("api/v1/me", {
      method: "GET",
      headers: { accept: "application/json", authorization: "Bearer " + token },
      credentials: "same-origin",
      cache: "no-store",
      redirect: "error",
      signal: AbortSignal.timeout(10000),
    });
    await resp.arrayBuffer();
    if (resp.status !== 200) throw new Error("GET me answered " + resp.status);
    times.push(performance.now() - t);
  }
  return times;
};
// Just the lock round trip the client takes before a token-bearing request (Web Locks, shared).
window.rawLock = async (n, name) => {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await navigator.locks.request(name, { mode: "shared" }, () => null);
    times.push(performance.now() - t);
  }
  return times;
};
