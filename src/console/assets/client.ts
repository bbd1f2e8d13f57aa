// The console's only script, served as /console/assets/console.js (script-src 'self').
// Progressive enhancement: every page and action works without it.
//  - <form data-confirm="…"> (or a submit button with data-confirm) asks before sending.
//  - <section id="…" data-refresh="ms"> is refetched and swapped in place while the tab is visible.
// Kept as plain ES2017 in a string so it is served byte for byte from src/ and dist/ alike.

export const CLIENT_JS = `(function () {
  'use strict';

  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (!(form instanceof HTMLFormElement)) return;
    var msg = (e.submitter && e.submitter.getAttribute('data-confirm')) || form.getAttribute('data-confirm');
    if (msg && !window.confirm(msg)) e.preventDefault();
  });

  var status = document.querySelector('[data-live-status]');
  function say(text, stale) {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle('stale', !!stale);
  }

  var live = Array.prototype.slice.call(document.querySelectorAll('[data-refresh]'));
  if (live.length === 0) return;
  var every = Math.max(1000, Math.min.apply(null, live.map(function (el) { return Number(el.getAttribute('data-refresh')) || 5000; })));
  var busy = false;
  var stopped = false;
  say('live');

  function typing(el) {
    var a = document.activeElement;
    return !!a && el.contains(a) && /^(INPUT|SELECT|TEXTAREA)$/.test(a.tagName);
  }

  function refresh() {
    if (busy || stopped || document.hidden) return;
    busy = true;
    fetch(location.href, { credentials: 'same-origin', headers: { 'x-console-refresh': '1' } })
      .then(function (res) {
        if (res.redirected || res.url.indexOf('/console/login') !== -1) {
          stopped = true;
          throw new Error('session ended: reload to log in again');
        }
        if (!res.ok) throw new Error('refresh failed: HTTP ' + res.status);
        return res.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        live.forEach(function (el) {
          var cur = document.getElementById(el.id);
          var fresh = doc.getElementById(el.id);
          if (cur && fresh && !typing(cur)) cur.replaceWith(document.adoptNode(fresh));
        });
        say('live · updated ' + new Date().toISOString().slice(11, 19) + 'Z');
      })
      .catch(function (err) { say(String(err && err.message || err), true); })
      .then(function () { busy = false; });
  }

  setInterval(refresh, every);
  document.addEventListener('visibilitychange', function () { if (!document.hidden) refresh(); });
})();
`;
