// What the pages the Dashboard frames share — the app page (dashboard.js), the order card and its
// popups (order.js): the AppBridge handshake, the authorised call to the app's API and the DOM
// helpers. Loaded before the page's script, it adds one object to the page, `window.Framed`.
// No framework, no build. Data from the server goes into the page as text, never as HTML.
(() => {
  "use strict";

  const $ = (selector, scope = document) => scope.querySelector(selector);

  // ------------------------------------------------------------------ DOM

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // The page's #banner: `content` (text or nodes, as the page words it) replaces what it said.
  function showBanner(kind, ...content) {
    const banner = $("#banner");
    banner.className = `banner banner-${kind}`;
    banner.replaceChildren(...content.filter((part) => part !== null && part !== undefined));
    banner.hidden = false;
  }

  function hideBanner() {
    $("#banner").hidden = true;
  }

  // ------------------------------------------------------------------ the app's API

  class NotAuthorised extends Error {}

  function errorMessage(data, fallback) {
    return (data && data.error && data.error.message) || fallback;
  }

  async function readJson(response, fallback) {
    try {
      return await response.json();
    } catch {
      return fallback;
    }
  }

  // The page's calls to the app: each carries the Dashboard's token (`token()`, it is renewed) and
  // the Saleor API URL. The page says how it tells staff that the app is out of reach
  // (`unreachable()`) and that the token was refused (`refused(status, data)`; the call then
  // throws NotAuthorised). `call` answers {status, ok, data}; data is {} when the answer had none.
  function api({ prefix = "", saleorApiUrl, token, unreachable, refused }) {
    const headers = () => ({ "authorization-bearer": token() || "", "saleor-api-url": saleorApiUrl });

    async function call(method, path, body) {
      const init = { method, headers: headers(), credentials: "omit", cache: "no-store" };
      if (body !== undefined) {
        init.headers["content-type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      let response;
      try {
        response = await fetch(prefix + path, init);
      } catch {
        unreachable();
        throw new Error("network");
      }
      const data = await readJson(response, null);
      if (response.status === 401 || response.status === 403) {
        refused(response.status, data);
        throw new NotAuthorised();
      }
      return { status: response.status, ok: response.ok, data: data || {} };
    }

    return { call, headers };
  }

  // ------------------------------------------------------------------ AppBridge

  function originOf(url) {
    try {
      return new URL(url).origin;
    } catch {
      return null;
    }
  }

  function actionId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function applyTheme(theme) {
    if (theme === "light" || theme === "dark") document.documentElement.dataset.theme = theme;
  }

  // The page's side of the AppBridge. Only messages from the parent at `dashboardOrigin` (the
  // server wrote it into the page) count. The theme is the `theme` query parameter's, then that of
  // the "theme" and "handshake" messages; each token the Dashboard hands over ("handshake", later
  // "tokenRefresh") goes to the page's `onToken`.
  function bridge(dashboardOrigin) {
    applyTheme(new URLSearchParams(window.location.search).get("theme"));

    function send(type, payload) {
      if (window.parent === window) return;
      window.parent.postMessage({ type, payload: { ...payload, actionId: actionId() } }, dashboardOrigin);
    }

    // Framed, and by that Dashboard as far as the browser tells (the referrer): otherwise the page
    // only says where to open it.
    function framed() {
      if (window.parent === window) return false;
      const referrer = document.referrer ? originOf(document.referrer) : null;
      return !(referrer && referrer !== dashboardOrigin);
    }

    function onMessage(event, onToken) {
      if (event.origin !== dashboardOrigin || event.source !== window.parent) return;
      const message = event.data;
      if (!message || typeof message !== "object") return;
      const payload = message.payload || {};
      if (message.type === "theme" || message.type === "handshake") applyTheme(payload.theme);
      if (message.type === "handshake" || message.type === "tokenRefresh") {
        if (typeof payload.token === "string" && payload.token) onToken(payload.token);
      }
    }

    function connect(onToken) {
      window.addEventListener("message", (event) => onMessage(event, onToken));
      send("notifyReady", {});
    }

    return { send, framed, connect };
  }

  window.Framed = Object.freeze({ $, el, showBanner, hideBanner, NotAuthorised, errorMessage, readJson, api, bridge });
})();
