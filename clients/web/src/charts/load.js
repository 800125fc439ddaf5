// The charts and Observable Plot are two thirds of the dashboard's script.
// They load on their own, while a view waits for its API answers, so that
// the first view's requests do not wait for Plot to be fetched and compiled
// (docs/benchmarks.md, "Dashboard: time to a rendered incidence explorer").
// A view calls loadCharts() before its API requests and awaits it before
// drawing.

let loading = null;

// What a view throws when the charts cannot be loaded; main.js shows its
// message as it is (it is not a server's answer).
export class ChartsUnavailableError extends Error {
  constructor(cause) {
    super(`The charts could not be loaded (${cause?.message ?? cause}). If aesignal was upgraded since this page was opened, reload the page.`);
    this.name = 'ChartsUnavailableError';
  }
}

// Resolves to charts/charts.js's exports; the module loads once.
export function loadCharts() {
  if (!loading) {
    loading = import('./charts.js').catch((err) => {
      loading = null;  // the next view tries again
      // A page opened before the server was upgraded names chunks the new
      // server no longer has.
      throw new ChartsUnavailableError(err);
    });
    // A view that fails before awaiting its charts leaves no unhandled
    // rejection behind; one that awaits still gets the error.
    loading.catch(() => {});
  }
  return loading;
}
