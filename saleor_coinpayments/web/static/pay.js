// The pay page: shows the coins, asks the app for the chosen coin's address, and follows the payment:
// it waits on `<base>/wait?version=…` (the app answers when what the page shows changed, or after
// about 25 s, and the page asks again). When waiting fails (an app without it, a proxy that cuts
// long requests, a network error) the page polls `<base>/status` on a timer as before, and tries
// waiting again after a while. Only textContent is ever set (no HTML from data); no third-party code.
// Every sentence comes from the page (the JSON block #pay-words, in the page's language) and every
// request names that language (`lang=`), so the app's answers speak it too.
"use strict";

(() => {
  const main = document.getElementById("pay");
  const base = main.dataset.base;
  const lang = main.dataset.lang || "en";
  const $ = (id) => document.getElementById(id);
  const words = JSON.parse($("pay-words").textContent);
  // A sentence with its {placeholders} filled in.
  const say = (key, values) => words[key].replace(/\{(\w+)\}/g, (whole, name) => (name in values ? values[name] : whole));
  const digits = (text) => String(text).replace(/[0-9]/g, (digit) => words.digits[Number(digit)]);
  const POLL_MS = 3000;
  const WAIT_RETRY_MS = 60000; // after a failed wait, poll on the timer this long before waiting again
  let waitAgainAt = 0;
  let view = null;
  let clockOffset = 0; // server time - local time, so the countdown follows the server
  let pollTimer = null;
  let busy = false;

  function show(id, visible) {
    $(id).hidden = !visible;
  }

  function setError(message) {
    $("error").textContent = message || "";
    show("error", Boolean(message));
  }

  async function request(method, path, body) {
    const options = { method, headers: { Accept: "application/json" }, credentials: "omit", cache: "no-store" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    const separator = path.includes("?") ? "&" : "?";
    const response = await fetch(`${base}${path}${separator}lang=${encodeURIComponent(lang)}`, options);
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    return { status: response.status, data };
  }

  function renderCoins(coins, chosenId) {
    const list = $("coin-list");
    list.replaceChildren();
    for (const coin of coins) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button coin";
      button.dataset.coin = coin.id;
      button.setAttribute("aria-pressed", String(coin.id === chosenId));
      const name = document.createElement("span");
      name.textContent = coin.name ? `${coin.name} (${coin.symbol})` : coin.symbol;
      name.dir = "auto"; // a coin's name is Latin: it keeps its own order on a right-to-left page
      const amount = document.createElement("span");
      amount.className = "amount";
      amount.dir = "auto";
      amount.textContent = coin.amount ? `${coin.amountText || coin.amount} ${coin.symbol}` : "";
      button.append(name, amount);
      button.addEventListener("click", () => choose(coin));
      const item = document.createElement("li");
      item.append(button);
      list.append(item);
    }
    $("coins-title").textContent = chosenId ? words.otherCoin : words.chooseCoin;
    show("coins", coins.length > 0);
  }

  function renderChosen(payment, state) {
    const open = Boolean(payment) && (state === "waiting" || state === "seen");
    show("chosen", open);
    if (!open) return;
    $("chosen-title").textContent = say("sendExactly", { symbol: payment.currency.symbol });
    $("pay-amount").textContent = payment.amount || "";
    $("pay-address").textContent = payment.address || "";
    const qr = $("qr");
    if (qr.getAttribute("src") !== payment.qrCode) qr.setAttribute("src", payment.qrCode);
    qr.alt = say("qrAlt", { amount: payment.amount, symbol: payment.currency.symbol, address: payment.address });
    $("wallet-link").href = payment.uri;
    $("expires").textContent = payment.expiresAtText ? say("payBy", { date: payment.expiresAtText }) : "";
    const status = payment.statusText || payment.status;
    $("progress").textContent = status
      ? say("progress", {
          detected: status.detected,
          symbol: payment.currency.symbol,
          confirmed: status.confirmed,
          confirmations: status.confirmations,
          required: status.requiredConfirmations,
        })
      : "";
  }

  function renderBack(url, state) {
    const wanted = Boolean(url) && (state === "paid" || state === "expired" || state === "cancelled");
    show("back-wrap", wanted);
    if (wanted) {
      $("back").href = url;
      $("back").textContent = state === "paid" ? words.backPaid : words.backNothingTaken;
    }
  }

  // The receipt (templates/pay_receipt.html): fields by `data-field`, lists by `data-list`, and the
  // parts of one case (`data-case-only`) shown for that case alone.
  function renderReceipt(receipt) {
    const section = $("receipt");
    section.hidden = !receipt;
    if (!receipt) return;
    section.dataset.case = receipt.case;
    for (const element of section.querySelectorAll("[data-field]")) {
      const value = receipt[element.dataset.field];
      element.textContent = value === null || value === undefined ? "" : String(value);
    }
    for (const list of section.querySelectorAll("[data-list]")) {
      const items = receipt[list.dataset.list] || [];
      list.replaceChildren(
        ...items.map((text) => {
          const item = document.createElement("li");
          item.className = list.dataset.list === "transactions" ? "mono tx" : "mono";
          item.textContent = text;
          return item;
        }),
      );
      const empty = section.querySelector(`[data-field-empty="${list.dataset.list}"]`);
      if (empty) empty.hidden = items.length > 0;
    }
    for (const element of section.querySelectorAll("[data-case-only]")) {
      element.hidden = !element.dataset.caseOnly.split(" ").includes(receipt.case);
    }
  }

  function expiry() {
    if (!view) return null;
    const text = (view.payment && view.payment.expiresAt) || view.expiresAt;
    return text ? Date.parse(text) : null;
  }

  function tick() {
    const end = expiry();
    const element = $("countdown");
    if (!end || !view || (view.state !== "waiting" && view.state !== "seen")) {
      element.textContent = "";
      return;
    }
    const left = Math.max(0, Math.floor((end - (Date.now() + clockOffset)) / 1000));
    const minutes = Math.floor(left / 60);
    const seconds = String(left % 60).padStart(2, "0");
    element.textContent = left > 0 ? say("timeLeft", { time: digits(`${minutes}:${seconds}`) }) : words.timeUp;
  }

  function render(next) {
    view = next;
    if (next.now) clockOffset = Date.parse(next.now) - Date.now();
    const state = $("state");
    state.textContent = next.stateText;
    state.className = `state state-${next.state}`;
    main.dataset.state = next.state;
    const chosenId = next.payment ? next.payment.currency.id : null;
    renderCoins(next.state === "waiting" ? next.coins : [], chosenId);
    renderChosen(next.payment, next.state);
    renderBack(next.returnUrl, next.state);
    renderReceipt(next.receipt);
    tick();
  }

  // Settled, and the receipt (if any) has its coin lines: nothing more to follow.
  function finished() {
    const ended = Boolean(view) && (view.state === "paid" || view.state === "expired" || view.state === "cancelled");
    return ended && !(view.receipt && !view.receipt.complete);
  }

  async function poll() {
    try {
      const { status, data } = await request("GET", "/status");
      if (status === 200 && data) {
        render(data);
      } else if (status === 404) {
        setError(words.linkGone);
        return;
      }
    } catch (_) {
      // A network hiccup: the next poll tries again.
    }
    next();
  }

  async function wait() {
    let waited = false;
    try {
      const version = view && view.version ? view.version : "";
      const { status, data } = await request("GET", `/wait?version=${encodeURIComponent(version)}`);
      if (status === 200 && data && data.version) {
        render(data);
        waited = true;
      }
    } catch (_) {
      waited = false;
    }
    if (!waited) waitAgainAt = Date.now() + WAIT_RETRY_MS;
    next();
  }

  // What comes after an answer: nothing once the payment is settled, a wait when the app answers
  // waits, else a poll on the timer.
  function next() {
    if (finished()) return;
    if (view && view.version && Date.now() >= waitAgainAt) {
      pollTimer = window.setTimeout(wait, 0);
    } else {
      pollTimer = window.setTimeout(poll, POLL_MS);
    }
  }

  async function choose(coin) {
    if (busy) return;
    busy = true;
    setError("");
    for (const button of document.querySelectorAll(".coin")) button.disabled = true;
    try {
      const { status, data } = await request("POST", "/coin", { coin: coin.id });
      if (data && data.error) setError(data.error.message);
      if (data && data.state) render(data);
      else if (status !== 200) setError(words.coinFailed);
      if (status === 200) $("copy-address").focus();
    } catch (_) {
      setError(words.coinOffline);
    } finally {
      busy = false;
      for (const button of document.querySelectorAll(".coin")) button.disabled = false;
    }
  }

  async function copy(event) {
    const text = $(event.currentTarget.dataset.copy).textContent;
    try {
      await navigator.clipboard.writeText(text);
      $("copied").textContent = words.copied;
    } catch (_) {
      const range = document.createRange();
      range.selectNodeContents($(event.currentTarget.dataset.copy));
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      $("copied").textContent = words.selected;
    }
  }

  $("copy-amount").addEventListener("click", copy);
  $("copy-address").addEventListener("click", copy);
  window.setInterval(tick, 1000);
  poll();
})();
