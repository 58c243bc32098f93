// The CoinPayments app page inside the Saleor Dashboard (PROTOCOL.md §9). No framework, no build.
//
// The Dashboard frames this page and hands it a short-lived token by postMessage ("handshake",
// later "tokenRefresh"). Messages are accepted only from the Dashboard's origin, which the server
// wrote into the page (the origin of the registered Saleor); every API call carries the token and
// the Saleor API URL. The AppBridge, the API call and the DOM helpers are framed.js's, shared with
// the order's pages. Data from the server is put into the page as text, never as HTML.
(() => {
  "use strict";

  const root = document.getElementById("app");
  if (!root) return;

  const params = new URLSearchParams(window.location.search);
  const saleorApiUrl = params.get("saleorApiUrl") || root.dataset.saleorApiUrl;
  const dashboardOrigin = root.dataset.dashboardOrigin;
  const apiPrefix = root.dataset.apiPrefix;

  const { $, el, hideBanner, NotAuthorised, errorMessage, readJson } = window.Framed;
  const $$ = (selector, scope = document) => Array.from(scope.querySelectorAll(selector));

  const state = {
    token: null,
    channels: [], // the Saleor's channels: [{slug, currency}]
    settling: null, // the refund being settled
    configurations: [],
    defaultApiUrl: "",
    editing: null, // null: closed; "": new; otherwise the id being edited
    loaded: false,
  };

  // ------------------------------------------------------------------ Dashboard messages

  // The Dashboard's theme: the `theme` query parameter first, then its "theme" events (framed.js).
  const bridge = window.Framed.bridge(dashboardOrigin);

  function notifyDashboard(status, title, text) {
    bridge.send("notification", { status, title, text });
  }

  // Every token the Dashboard hands over (re)loads the page.
  function onToken(token) {
    state.token = token;
    start();
  }

  // ------------------------------------------------------------------ API

  function unreachable() {
    showBanner("error", "The app cannot be reached.", "Check your connection and try again.");
  }

  const { call, headers } = window.Framed.api({
    prefix: apiPrefix,
    saleorApiUrl,
    token: () => state.token,
    unreachable,
    refused: notAuthorised,
  });

  // ------------------------------------------------------------------ DOM helpers

  // A banner: its title in bold, then the detail.
  function showBanner(kind, title, text) {
    window.Framed.showBanner(kind, el("strong", { text: title }), text ? el("p", { text }) : null);
  }

  function formatTime(iso) {
    if (!iso) return "—";
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
  }

  function notAuthorised(status, data) {
    state.loaded = false;
    $("#content").hidden = true;
    $("#waiting").hidden = true;
    const code = data && data.error && data.error.code;
    let detail = errorMessage(data, "The Dashboard did not prove who you are.");
    if (code === "TOKEN_EXPIRED") detail += " The Dashboard renews it; if this message stays, reload the page.";
    if (status === 403) detail += " Ask a shop owner for the MANAGE_APPS permission.";
    showBanner("error", "You are not authorised to configure this app.", detail);
  }

  function setBusy(button, busy, label) {
    if (busy) {
      button.dataset.label = button.textContent;
      button.textContent = label || "Working…";
      button.disabled = true;
    } else {
      button.textContent = button.dataset.label || button.textContent;
      button.disabled = false;
    }
  }

  function clearErrors(form) {
    for (const node of $$("[data-error-for]", form)) {
      node.textContent = "";
      node.hidden = true;
    }
    for (const input of $$("[aria-invalid]", form)) input.removeAttribute("aria-invalid");
  }

  function showErrors(form, errors) {
    clearErrors(form);
    for (const [field, message] of Object.entries(errors || {})) {
      const slot = $(`[data-error-for="${CSS.escape(field)}"]`, form) || $('[data-error-for="_"]', form);
      if (!slot) continue;
      slot.textContent = message;
      slot.hidden = false;
      const input = form.elements.namedItem(field);
      if (input && input.setAttribute) input.setAttribute("aria-invalid", "true");
    }
  }

  // ------------------------------------------------------------------ configurations

  function checkBadge(configuration) {
    const check = configuration.last_check;
    if (!check) return el("span", { class: "badge", text: "Not tested" });
    return check.ok
      ? el("span", { class: "badge badge-ok", text: "Connected" })
      : el("span", { class: "badge badge-bad", text: "Not working" });
  }

  function renderConfigurations() {
    const list = $("#configurations");
    list.replaceChildren(...state.configurations.map(configurationCard));
    $("#no-configurations").hidden = state.configurations.length > 0;
    renderChannels();
  }

  function configurationCard(c) {
    const channels = c.channels.length
      ? el("span", { class: "chips" }, c.channels.map((slug) => el("span", { class: "chip", text: slug })))
      : el("span", { class: "muted", text: "none — map a channel below" });
    const check = c.last_check;
    const card = el(
      "article",
      { class: "card", dataset: { configurationId: c.id } },
      el("div", { class: "card-head" }, el("h3", { text: c.name }), checkBadge(c)),
      el(
        "dl",
        {},
        el("dt", { text: "Client id" }),
        el("dd", { class: "mono", text: c.client_id }),
        el("dt", { text: "Client secret" }),
        el("dd", { class: "mono", text: c.client_secret }),
        el("dt", { text: "API URL" }),
        el("dd", { class: "mono", text: c.api_url }),
        el("dt", { text: "Coins" }),
        el("dd", { text: c.accepted_coins.length ? c.accepted_coins.join(", ") : "All offered by CoinPayments" }),
        el("dt", { text: "Checkout page" }),
        el("dd", { text: c.checkout_page === "app" ? "This app's pay page" : "Hosted by CoinPayments" }),
        el("dt", { text: "Channels" }),
        el("dd", {}, channels),
        el("dt", { text: "Sent-out invoices" }),
        el("dd", { text: billingText(c) }),
        el("dt", { text: "Notifications" }),
        el("dd", { text: c.notifications_registered ? "Registered at CoinPayments" : "Not registered yet" }),
      ),
      check
        ? el("p", { class: `verdict ${check.ok ? "verdict-ok" : "verdict-bad"}`, role: "status", text: check.message })
        : null,
      el(
        "div",
        { class: "actions" },
        el("button", { type: "button", class: "button small", text: "Edit", onclick: () => openEditor(c) }),
        el("button", {
          type: "button",
          class: "button small",
          text: "Test connection",
          onclick: (event) => testConnection(c, event.currentTarget),
        }),
        el("button", {
          type: "button",
          class: "button small danger",
          text: "Delete",
          onclick: (event) => deleteConfiguration(c, event.currentTarget),
        }),
      ),
    );
    return card;
  }

  async function loadConfigurations() {
    const { ok, data } = await call("GET", "/configurations");
    if (!ok) {
      showBanner("error", "Could not load the configurations.", errorMessage(data, ""));
      return;
    }
    state.configurations = data.configurations;
    state.defaultApiUrl = data.default_api_url || "";
    renderConfigurations();
  }

  function billingText(c) {
    const reminders = c.invoice_reminders.length
      ? c.invoice_reminders.map((day) => (day > 0 ? `+${day}` : `${day}`)).join(", ")
      : "none";
    const orders = c.invoice_new_orders ? "new orders invoiced automatically" : "new orders not invoiced";
    return `${orders}; due after ${c.invoice_due_days} days; reminders ${reminders}`;
  }

  function openEditor(configuration) {
    const form = $("#configuration-form");
    form.reset();
    clearErrors(form);
    state.editing = configuration ? configuration.id : "";
    $("#editor-title").textContent = configuration ? `Edit ${configuration.name}` : "New configuration";
    const secret = form.elements.namedItem("client_secret");
    if (configuration) {
      form.elements.namedItem("name").value = configuration.name;
      form.elements.namedItem("client_id").value = configuration.client_id;
      form.elements.namedItem("api_url").value = configuration.api_url;
      form.elements.namedItem("accepted_coins").value = configuration.accepted_coins.join(", ");
      form.elements.namedItem("checkout_page").value = configuration.checkout_page || "hosted";
      renderChannelChoices(configuration.channels);
      form.elements.namedItem("invoice_new_orders").checked = configuration.invoice_new_orders;
      form.elements.namedItem("invoice_due_days").value = String(configuration.invoice_due_days);
      form.elements.namedItem("invoice_reminders").value = configuration.invoice_reminders.join(", ");
      secret.placeholder = `${configuration.client_secret} — leave empty to keep`;
      $("#secret-hint").textContent = "Write-only: the stored secret is never shown. Enter a new one to replace it.";
    } else {
      form.elements.namedItem("api_url").value = state.defaultApiUrl;
      renderChannelChoices([]);
      secret.placeholder = "";
      $("#secret-hint").textContent = "Shown once by CoinPayments when the integration is created.";
    }
    $("#editor").hidden = false;
    form.elements.namedItem("name").focus();
  }

  function closeEditor() {
    state.editing = null;
    $("#editor").hidden = true;
    $("#configuration-form").reset();
  }

  async function saveConfiguration(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const field = (name) => form.elements.namedItem(name).value;
    const body = {
      name: field("name"),
      client_id: field("client_id"),
      client_secret: field("client_secret"),
      api_url: field("api_url"),
      accepted_coins: field("accepted_coins"),
      checkout_page: field("checkout_page"),
      channels: $$('#channel-choices input[name="channels"]:checked', form).map((box) => box.value).join(","),
      invoice_new_orders: form.elements.namedItem("invoice_new_orders").checked,
      invoice_due_days: field("invoice_due_days") || "7",
      invoice_reminders: field("invoice_reminders"),
    };
    const button = $("#save");
    setBusy(button, true, "Saving…");
    try {
      const creating = state.editing === "";
      const path = creating ? "/configurations" : `/configurations/${encodeURIComponent(state.editing)}`;
      const { status, ok, data } = await call(creating ? "POST" : "PUT", path, body);
      if (status === 400 && data.errors) {
        showErrors(form, data.errors);
        return;
      }
      if (!ok) {
        showErrors(form, { _: errorMessage(data, "The configuration could not be saved.") });
        return;
      }
      closeEditor();
      const name = data.configuration.name;
      const moved = Object.entries(data.moved_channels || {}).map(([slug, from]) => `${slug} (from ${from})`);
      const movedText = moved.length ? ` Channels moved here: ${moved.join(", ")}.` : "";
      if (data.check.ok) {
        showBanner("ok", `Saved ${name}.`, data.check.message + movedText);
        notifyDashboard("success", "Configuration saved", name);
      } else {
        showBanner("warn", `Saved ${name}, but CoinPayments does not accept it yet.`, data.check.message + movedText);
        notifyDashboard("warning", "Configuration saved with a problem", data.check.message);
      }
      await loadConfigurations();
      await loadPayments();
    } catch (error) {
      if (!(error instanceof NotAuthorised)) throw error;
    } finally {
      setBusy(button, false);
    }
  }

  async function testConnection(configuration, button) {
    setBusy(button, true, "Testing…");
    try {
      const { ok, data } = await call("POST", `/configurations/${encodeURIComponent(configuration.id)}/test`);
      if (!ok) {
        showBanner("error", "The test could not run.", errorMessage(data, ""));
        return;
      }
      const check = data.check;
      if (check.ok) showBanner("ok", `${configuration.name}: the connection works.`, check.message);
      else showBanner("error", `${configuration.name}: the connection does not work.`, check.message);
      await loadConfigurations();
    } catch (error) {
      if (!(error instanceof NotAuthorised)) throw error;
    } finally {
      if (button.isConnected) setBusy(button, false);
    }
  }

  async function deleteConfiguration(configuration, button) {
    if (button.dataset.confirming !== "yes") {
      button.dataset.confirming = "yes";
      button.textContent = "Click again to delete";
      window.setTimeout(() => {
        if (button.isConnected) {
          button.dataset.confirming = "";
          button.textContent = "Delete";
        }
      }, 4000);
      return;
    }
    setBusy(button, true, "Deleting…");
    try {
      const { status, ok, data } = await call("DELETE", `/configurations/${encodeURIComponent(configuration.id)}`);
      if (status === 400 && data.errors) {
        showBanner("error", `${configuration.name} was not deleted.`, Object.values(data.errors).join(" "));
      } else if (!ok) {
        showBanner("error", `${configuration.name} was not deleted.`, errorMessage(data, ""));
      } else if (data.warning) {
        showBanner("warn", `Deleted ${configuration.name}.`, data.warning);
      } else {
        showBanner("ok", `Deleted ${configuration.name}.`, "");
      }
      await loadConfigurations();
    } catch (error) {
      if (!(error instanceof NotAuthorised)) throw error;
    } finally {
      if (button.isConnected) setBusy(button, false);
    }
  }

  // ------------------------------------------------------------------ channels

  // ------------------------------------------------------------------ the Saleor's channels (picked, not typed)

  async function loadChannels() {
    const { ok, data } = await call("GET", "/channels");
    state.channels = ok ? data.channels : [];
    if (!ok) showBanner("warn", "Could not read the shop's channels from Saleor.", errorMessage(data, ""));
    const select = $('#map-form select[name="channel"]');
    const chosen = select.value;
    select.replaceChildren(
      el("option", { value: "", text: "Choose a channel…" }),
      ...state.channels.map((c) => el("option", { value: c.slug, text: `${c.slug} (${c.currency})` })),
    );
    if (chosen) select.value = chosen;
  }

  function renderChannelChoices(checked) {
    const box = $("#channel-choices");
    const slugs = new Set([...state.channels.map((c) => c.slug), ...checked]);
    if (!slugs.size) {
      box.replaceChildren(el("span", { class: "muted", text: "This shop has no channels." }));
      return;
    }
    box.replaceChildren(
      ...Array.from(slugs)
        .sort()
        .map((slug) =>
          el(
            "label",
            { class: "choice" },
            el("input", { type: "checkbox", name: "channels", value: slug, checked: checked.includes(slug) }),
            el("span", { text: slug }),
          ),
        ),
    );
  }

  function renderChannels() {
    const select = $('#map-form select[name="configuration_id"]');
    const chosen = select.value;
    select.replaceChildren(...state.configurations.map((c) => el("option", { value: c.id, text: c.name })));
    if (chosen) select.value = chosen;

    const rows = [];
    const slugs = [];
    for (const c of state.configurations) {
      for (const slug of c.channels) {
        slugs.push(slug);
        rows.push(
          el(
            "tr",
            { dataset: { channel: slug } },
            el("td", { class: "mono", text: slug }),
            el("td", { text: c.name }),
            el(
              "td",
              { class: "num" },
              el("button", {
                type: "button",
                class: "button small",
                text: "Unmap",
                onclick: (event) => mapChannel(slug, null, event.currentTarget),
              }),
            ),
          ),
        );
      }
    }
    const body = $("#channels-table tbody");
    body.replaceChildren(
      ...(rows.length ? rows : [el("tr", {}, el("td", { colspan: "3", class: "muted", text: "No channel mapped." }))]),
    );

    const logSelect = $("#log-channel");
    const current = logSelect.value;
    logSelect.replaceChildren(
      el("option", { value: "", text: "All channels" }),
      ...slugs.sort().map((slug) => el("option", { value: slug, text: slug })),
    );
    logSelect.value = slugs.includes(current) ? current : "";

    const booksSelect = $("#books-channel");
    const booksCurrent = booksSelect.value;
    booksSelect.replaceChildren(
      el("option", { value: "", text: "All channels" }),
      ...slugs.sort().map((slug) => el("option", { value: slug, text: slug })),
    );
    booksSelect.value = slugs.includes(booksCurrent) ? booksCurrent : "";
  }

  async function mapChannel(slug, configurationId, button) {
    const form = $("#map-form");
    setBusy(button, true);
    try {
      const { status, ok, data } = await call("PUT", `/channels/${encodeURIComponent(slug)}`, {
        configuration_id: configurationId,
      });
      if (status === 400 && data.errors) {
        showErrors(form, data.errors);
        return;
      }
      if (!ok) {
        showErrors(form, { channel: errorMessage(data, "The channel could not be mapped.") });
        return;
      }
      clearErrors(form);
      form.reset();
      const target = data.configuration ? data.configuration.name : null;
      const from = data.previous ? ` (was ${data.previous})` : "";
      showBanner("ok", target ? `Channel ${data.channel} now pays with ${target}${from}.` : `Channel ${data.channel} unmapped.`);
      await loadConfigurations();
    } catch (error) {
      if (!(error instanceof NotAuthorised)) throw error;
    } finally {
      if (button.isConnected) setBusy(button, false);
    }
  }

  function submitMap(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const slug = form.elements.namedItem("channel").value.trim();
    const configurationId = form.elements.namedItem("configuration_id").value;
    if (!slug) {
      showErrors(form, { channel: "Choose a channel." });
      return;
    }
    if (!configurationId) {
      showErrors(form, { configuration_id: "Create a configuration first." });
      return;
    }
    mapChannel(slug, configurationId, $("#map-channel"));
  }

  // ------------------------------------------------------------------ payment log

  function reportsCell(p) {
    const reports = p.reports;
    const parts = [];
    if (reports.failed) parts.push(el("span", { class: "badge badge-bad", text: `${reports.failed} failed`, title: reports.last_error || "" }));
    if (reports.waiting) parts.push(el("span", { class: "badge badge-warn", text: `${reports.waiting} waiting`, title: reports.last_error || "" }));
    if (reports.delivered) parts.push(el("span", { class: "badge badge-ok", text: `${reports.delivered} delivered` }));
    if (!parts.length) parts.push(el("span", { class: "muted", text: "—" }));
    const cell = el("td", {}, el("span", { class: "chips" }, parts));
    if (reports.last_error && (reports.failed || reports.waiting)) cell.append(el("span", { class: "sub", text: reports.last_error }));
    if (reports.failed) {
      cell.append(
        el("button", {
          type: "button",
          class: "button small",
          text: "Retry",
          title: "Send the failed reports to Saleor again (after fixing their cause)",
          onclick: (event) => retryReports(p, event.currentTarget),
        }),
      );
    }
    return cell;
  }

  function reportsWarning(backlog) {
    const warning = $("#reports-warning");
    const parts = [];
    const failed = (backlog && backlog.failed + backlog.expired) || 0;
    if (failed) parts.push(`${failed} report(s) to Saleor failed — fix the cause shown in the log, then press Retry.`);
    if (backlog && backlog.pending) {
      const since = backlog.oldest_pending_at ? ` (oldest since ${formatTime(backlog.oldest_pending_at)})` : "";
      parts.push(`${backlog.pending} report(s) waiting for Saleor${since}.`);
    }
    warning.textContent = parts.join(" ");
    warning.hidden = parts.length === 0;
  }

  async function retryReports(payment, button) {
    setBusy(button, true, "Queueing…");
    try {
      const { ok, data } = await call("POST", `/payments/${encodeURIComponent(payment.id)}/retry-reports`);
      if (!ok) {
        showBanner("error", "The reports could not be queued again.", errorMessage(data, ""));
        return;
      }
      showBanner("ok", `${data.requeued} report(s) queued for Saleor again.`, "They go out within seconds when Saleor accepts them.");
      await loadPayments();
    } catch (error) {
      if (!(error instanceof NotAuthorised)) throw error;
    } finally {
      if (button.isConnected) setBusy(button, false);
    }
  }

  function stateBadge(payment) {
    const good = ["paid", "completed"].includes(payment.state);
    const bad = ["expired", "cancelled"].includes(payment.state);
    const kind = good ? "badge-ok" : bad ? "badge-bad" : "badge-warn";
    return el("span", { class: `badge ${kind}`, text: payment.state });
  }

  function refundFigures(p) {
    if (p.refundable === undefined) return null;
    const parts = [`credited ${p.credited}`];
    if (Number(p.refunded) > 0) parts.push(`refunded ${p.refunded}`);
    if (Number(p.refund_pending) > 0) parts.push(`refunding ${p.refund_pending}`);
    parts.push(`refundable ${p.refundable}`);
    const lines = [el("span", { class: "sub", text: parts.join(" · ") })];
    if (p.coinpayments_refund) {
      lines.push(el("span", { class: "sub", text: `CoinPayments refund: ${p.coinpayments_refund.state} (${p.coinpayments_refund.amount})` }));
    }
    if (p.accepted_as_paid) lines.push(el("span", { class: "sub", text: `accepted as paid by ${p.accepted_as_paid.by}` }));
    return lines;
  }

  function decisionButtons(p) {
    if (!p.can_accept_or_refund) return [];
    return [
      el("button", { type: "button", class: "button small", text: "Accept as paid", onclick: (event) => decide(p, "accept-as-paid", event.currentTarget) }),
      el("button", { type: "button", class: "button small", text: "Refund what came in", onclick: (event) => decide(p, "refund-received", event.currentTarget) }),
    ];
  }

  async function decide(payment, action, button) {
    setBusy(button, true);
    try {
      const { ok, data } = await call("POST", `/payments/${encodeURIComponent(payment.id)}/${action}`, {});
      if (!ok) {
        showBanner("error", `Invoice ${payment.invoice_id}: not done.`, errorMessage(data, ""));
        return;
      }
      showBanner("ok", `Invoice ${payment.invoice_id}: done.`, data.message);
      notifyDashboard("success", "CoinPayments", data.message);
      await loadPayments();
      await loadRefunds();
      defaultPeriod();
    } catch (error) {
      if (!(error instanceof NotAuthorised)) throw error;
    } finally {
      if (button.isConnected) setBusy(button, false);
    }
  }

  function paymentRow(p) {
    const credited = p.credited !== p.amount && Number(p.credited) > 0 ? `credited ${p.credited}` : null;
    return el(
      "tr",
      { dataset: { paymentId: p.id } },
      el("td", {}, formatTime(p.created_at)),
      el("td", { class: "mono nowrap", text: p.channel }),
      el("td", {}, el("span", { class: "mono", text: p.invoice_id || "—" }), el("span", { class: "sub", text: p.flow === "checkout" ? "checkout" : "sent invoice" })),
      el("td", { class: "num" }, `${p.amount} ${p.currency}`, refundFigures(p) || (credited ? el("span", { class: "sub", text: credited }) : null)),
      el("td", {}, stateBadge(p), p.confirmations ? el("span", { class: "sub", text: `${p.confirmations} confirmations` }) : null),
      el("td", {}, formatTime(p.last_notification_at)),
      reportsCell(p),
      el(
        "td",
        { class: "num actions-cell" },
        ...decisionButtons(p),
        p.invoice_id
          ? el("button", {
              type: "button",
              class: "button small",
              text: "Resync",
              title: "Read this invoice from CoinPayments now",
              onclick: (event) => resync(p, event.currentTarget),
            })
          : null,
      ),
    );
  }

  async function loadPayments() {
    const channel = $("#log-channel").value;
    const query = channel ? `?channel=${encodeURIComponent(channel)}` : "";
    const { ok, data } = await call("GET", `/payments${query}`);
    if (!ok) {
      showBanner("error", "Could not load the payments.", errorMessage(data, ""));
      return;
    }
    $("#payments-table tbody").replaceChildren(...data.payments.map(paymentRow));
    reportsWarning(data.reports);
    $("#no-payments").hidden = data.payments.length > 0;
  }

  async function resync(payment, button) {
    setBusy(button, true, "Reading…");
    try {
      const { ok, data } = await call("POST", `/payments/${encodeURIComponent(payment.id)}/resync`);
      if (!ok) {
        showBanner("error", `Invoice ${payment.invoice_id} could not be read.`, errorMessage(data, ""));
        return;
      }
      showBanner("ok", `Invoice ${payment.invoice_id} read from CoinPayments.`, `State: ${data.payment ? data.payment.state : "unknown"}.`);
      await loadPayments();
    } catch (error) {
      if (!(error instanceof NotAuthorised)) throw error;
    } finally {
      if (button.isConnected) setBusy(button, false);
    }
  }

  // ------------------------------------------------------------------ refunds (issue 15)

  const ORIGINS = { saleor: "asked in Saleor", staff: "refund of an under-payment", surplus: "suggested: surplus" };

  function refundStateBadge(r) {
    const kind = r.state === "sent" ? "badge-ok" : r.state === "declined" ? "badge-bad" : "badge-warn";
    return el("span", { class: `badge ${kind}`, text: r.state });
  }

  function refundRow(r) {
    const settled = r.state === "requested"
      ? null
      : el("span", { class: "sub", text: `${r.state === "sent" ? "sent" : "declined"} by ${r.settledBy || "?"}, ${formatTime(r.settledAt)}${r.txId ? ` · tx ${r.txId}` : ""}${r.declineReason ? ` · ${r.declineReason}` : ""}` });
    return el(
      "tr",
      { dataset: { refundId: r.id }, class: r.state === "requested" ? "pending" : null },
      el("td", {}, formatTime(r.createdAt), el("span", { class: "sub", text: r.requestedBy || "" })),
      el("td", { class: "num" }, `${r.amount} ${r.currency}`),
      el("td", {}, refundStateBadge(r), settled),
      el("td", {}, el("span", { text: r.reason || "—" }), el("span", { class: "sub", text: ORIGINS[r.origin] || r.origin })),
      el("td", { text: r.buyerEmail || "—" }),
      el("td", {}, el("span", { class: "mono", text: r.pspReference })),
      el(
        "td",
        { class: "num" },
        r.state === "requested"
          ? el("button", { type: "button", class: "button small primary", text: "Settle", onclick: () => openSettle(r) })
          : null,
      ),
    );
  }

  async function loadRefunds() {
    const pending = $("#refunds-pending-only").checked ? "?pending=1" : "";
    const { ok, data } = await call("GET", `/refunds${pending}`);
    if (!ok) {
      showBanner("error", "Could not load the refunds.", errorMessage(data, ""));
      return;
    }
    $("#refunds-table tbody").replaceChildren(...data.refunds.map(refundRow));
    $("#no-refunds").hidden = data.refunds.length > 0;
  }

  function openSettle(refund) {
    const form = $("#settle-form");
    form.reset();
    clearErrors(form);
    state.settling = refund;
    $("#settle-title").textContent = `Settle refund of ${refund.amount} ${refund.currency}${refund.buyerEmail ? ` to ${refund.buyerEmail}` : ""}`;
    form.hidden = false;
    form.elements.namedItem("tx").focus();
  }

  function closeSettle() {
    state.settling = null;
    $("#settle-form").hidden = true;
  }

  async function settle(action, button) {
    const form = $("#settle-form");
    const refund = state.settling;
    if (!refund) return;
    const field = (name) => form.elements.namedItem(name).value;
    const body = action === "complete"
      ? { tx: field("tx"), coin: field("coin"), amount: field("amount"), note: field("note") }
      : { reason: field("reason") };
    setBusy(button, true, action === "complete" ? "Completing…" : "Declining…");
    try {
      const { status, ok, data } = await call("POST", `/refunds/${encodeURIComponent(refund.id)}/${action}`, body);
      if (status === 400 && data.errors) {
        showErrors(form, data.errors);
        return;
      }
      if (!ok) {
        showErrors(form, { _: errorMessage(data, "The refund was not settled.") });
        return;
      }
      closeSettle();
      showBanner("ok", action === "complete" ? "Refund completed." : "Refund declined.", data.message);
      notifyDashboard("success", "CoinPayments refund", data.message);
      await loadRefunds();
      await loadPayments();
    } catch (error) {
      if (!(error instanceof NotAuthorised)) throw error;
    } finally {
      if (button.isConnected) setBusy(button, false);
    }
  }

  // ------------------------------------------------------------------ start

  // ------------------------------------------------------------------ books

  const KIND_NAMES = {
    paid: "Paid",
    underpaid: "Under-paid",
    underpaid_accepted: "Under-paid, accepted",
    overpaid: "Over-paid",
    late: "Late money",
    held_for_return: "Held for the buyer",
    payout: "Paid out to the shop",
    refund: "Refunded by staff",
    coinpayments_refund: "Refunded by CoinPayments",
    net: "Net received",
  };

  function defaultPeriod() {
    const form = $("#books-form");
    const today = new Date().toISOString().slice(0, 10);
    if (!form.elements.from.value) form.elements.from.value = `${today.slice(0, 8)}01`;
    if (!form.elements.to.value) form.elements.to.value = today;
  }

  function booksQuery(format) {
    const form = $("#books-form");
    const query = new URLSearchParams({ from: form.elements.from.value, to: form.elements.to.value });
    if (form.elements.channel.value) query.set("channel", form.elements.channel.value);
    if (format) query.set("format", format);
    return query.toString();
  }

  function totalRow(entry, unit) {
    return el(
      "tr",
      { dataset: { kind: entry.kind, unit: entry[unit] } },
      el("td", { text: KIND_NAMES[entry.kind] || entry.kind }),
      el("td", { text: entry[unit] }),
      el("td", { class: "num", text: entry.amount }),
      el("td", { class: "num", text: entry.kind === "net" ? "" : entry.fees }),
    );
  }

  async function loadBookTotals() {
    const form = $("#books-form");
    const button = $("#books-show");
    setBusy(button, true, "Adding up…");
    try {
      const { ok, data } = await call("GET", `/ledger/totals?${booksQuery()}`);
      if (!ok) {
        showErrors(form, { _: Object.values(data.errors || {}).join(" ") || errorMessage(data, "Not a period.") });
        return;
      }
      clearErrors(form);
      const rows = [...data.fiat.map((e) => totalRow(e, "currency")), ...data.coin.map((e) => totalRow(e, "coin"))];
      $("#books-totals tbody").replaceChildren(...rows);
      $("#books-totals").hidden = rows.length === 0;
      $("#books-empty").hidden = rows.length > 0;
    } finally {
      setBusy(button, false);
    }
  }

  async function downloadLedger() {
    // The API wants the Dashboard token in a header, so the file is fetched here and handed to
    // the browser as a blob rather than opened as a plain link.
    const form = $("#books-form");
    const button = $("#books-download");
    setBusy(button, true, "Preparing…");
    try {
      const response = await fetch(`${apiPrefix}/ledger?${booksQuery("csv")}`, {
        headers: headers(),
        credentials: "omit",
        cache: "no-store",
      });
      if (!response.ok) {
        const data = await readJson(response, {});
        if (response.status === 401 || response.status === 403) {
          notAuthorised(response.status, data);
          return;
        }
        showErrors(form, { _: Object.values(data.errors || {}).join(" ") || "The download failed." });
        return;
      }
      clearErrors(form);
      const blob = await response.blob();
      const disposition = response.headers.get("content-disposition") || "";
      const match = /filename="([^"]+)"/.exec(disposition);
      const url = URL.createObjectURL(blob);
      const link = el("a", { href: url, download: match ? match[1] : "ledger.csv", hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch {
      unreachable();
    } finally {
      setBusy(button, false);
    }
  }

  async function start() {
    try {
      const { ok, data } = await call("GET", "/session");
      if (!ok) return;
      $("#whoami").textContent = data.email ? `Signed in as ${data.email}` : "";
      if (!state.loaded) hideBanner();
      state.loaded = true;
      $("#waiting").hidden = true;
      $("#content").hidden = false;
      await loadChannels();
      await loadConfigurations();
      await loadPayments();
      await loadRefunds();
      defaultPeriod();
    } catch (error) {
      if (!(error instanceof NotAuthorised)) throw error;
    }
  }

  function wire() {
    $("#new-configuration").addEventListener("click", () => openEditor(null));
    $("#cancel").addEventListener("click", closeEditor);
    $("#configuration-form").addEventListener("submit", saveConfiguration);
    $("#map-form").addEventListener("submit", submitMap);
    $("#reload-log").addEventListener("click", () => loadPayments().catch(() => {}));
    $("#log-channel").addEventListener("change", () => loadPayments().catch(() => {}));
    $("#reload-refunds").addEventListener("click", () => loadRefunds().catch(() => {}));
    $("#refunds-pending-only").addEventListener("change", () => loadRefunds().catch(() => {}));
    $("#settle-form").addEventListener("submit", (event) => {
      event.preventDefault();
      settle("complete", $("#complete-refund"));
    });
    $("#decline-refund").addEventListener("click", () => settle("decline", $("#decline-refund")));
    $("#settle-cancel").addEventListener("click", closeSettle);
    $("#books-form").addEventListener("submit", (event) => {
      event.preventDefault();
      loadBookTotals().catch(() => {});
    });
    $("#books-download").addEventListener("click", () => downloadLedger());
  }

  wire();
  if (!bridge.framed()) {
    $("#waiting").hidden = true;
    showBanner(
      "error",
      "Open this page from the Saleor Dashboard.",
      `It only works inside the Dashboard of ${saleorApiUrl} (Apps → CoinPayments).`,
    );
    return;
  }
  bridge.connect(onToken);
})();
