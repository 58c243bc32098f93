// The app on an order's page in the Saleor Dashboard: the crypto card (a widget) and the two popups
// of the order's "…" menu. No framework, no build; one read of the app per load.
//
// As on the app page (dashboard.js), with the same helpers (framed.js): the Dashboard frames this
// page, hands it a token through the AppBridge handshake (renewed by "tokenRefresh"), and tells it
// the theme. The card tells the Dashboard its height ("widgetResize") whenever it changes.
// Data from the server is put into the page as text, never as HTML.
(() => {
  "use strict";

  const root = document.getElementById("order");
  if (!root) return;

  const params = new URLSearchParams(window.location.search);
  const view = root.dataset.view; // card | invoice | refunds
  const saleorApiUrl = params.get("saleorApiUrl") || root.dataset.saleorApiUrl;
  const orderId = params.get("orderId") || "";
  const dashboardOrigin = root.dataset.dashboardOrigin;
  const apiPrefix = root.dataset.apiPrefix;
  const sendInvoicePath = root.dataset.sendInvoicePath;
  const { $, el, hideBanner, NotAuthorised, errorMessage } = window.Framed;
  const bridge = window.Framed.bridge(dashboardOrigin);
  const sendToDashboard = bridge.send;

  let token = null;
  let started = false;

  // ------------------------------------------------------------------ AppBridge

  function onToken(received) {
    token = received;
    if (!started) {
      started = true;
      start();
    }
  }

  // The widget's frame follows the card's height (the Dashboard caps and applies it).
  let reportedHeight = 0;
  function reportHeight() {
    const height = Math.ceil(document.body.getBoundingClientRect().height);
    if (height > 0 && height !== reportedHeight) {
      reportedHeight = height;
      sendToDashboard("widgetResize", { height });
    }
  }

  function closePopup() {
    sendToDashboard("popupClose", {});
  }

  // ------------------------------------------------------------------ API

  const { call } = window.Framed.api({
    saleorApiUrl,
    token: () => token,
    unreachable: () => showBanner("error", "The app cannot be reached. Try again in a moment."),
    refused: (_status, data) => {
      const reason = errorMessage(data, "");
      showBanner("error", `You are not authorised to use CoinPayments here. ${reason}`.trim());
      $("#content") && ($("#content").hidden = true);
    },
  });

  // ------------------------------------------------------------------ DOM

  // The card's banner says one line of text (nothing for a missing message).
  function showBanner(kind, text) {
    window.Framed.showBanner(kind, text ?? "");
  }

  function fieldErrors(form, errors) {
    for (const small of form.querySelectorAll("[data-error-for]")) {
      const text = errors && errors[small.dataset.errorFor];
      small.textContent = text || "";
      small.hidden = !text;
    }
  }

  function when(iso) {
    if (!iso) return "—";
    const date = new Date(iso);
    return `${date.toISOString().slice(0, 16).replace("T", " ")} UTC`;
  }

  const FLOW = { checkout: "checkout", sent_invoice: "sent-out invoice" };
  const REFUND_STATE = { requested: "waiting for you", sent: "sent", declined: "declined" };

  function fact(label, ...value) {
    return [el("dt", { text: label }), el("dd", {}, ...value)];
  }

  // ------------------------------------------------------------------ the card

  async function load() {
    const { ok, data } = await call("GET", `${apiPrefix}/orders/${encodeURIComponent(orderId)}/crypto`);
    $("#waiting").hidden = true;
    if (!ok) {
      showBanner("error", errorMessage(data, "The order's crypto payments cannot be shown."));
      return;
    }
    $("#content").hidden = false;
    render(data);
  }

  function render(data) {
    const list = $("#payments");
    const payments = data.payments || [];
    if (view === "refunds") {
      const refunds = payments.flatMap((p) => (p.refund_list || []).map((r) => ({ refund: r, payment: p })));
      list.replaceChildren(...refunds.map(({ refund }) => refundRow(refund)));
      $("#no-payments").textContent = "This order has no crypto refunds.";
      $("#no-payments").hidden = refunds.length > 0;
      return;
    }
    list.replaceChildren(...payments.map(paymentCard));
    $("#no-payments").textContent = "No CoinPayments payment on this order.";
    $("#no-payments").hidden = payments.length > 0;
    const invoice = data.invoice || {};
    $("#send-invoice").hidden = !invoice.can_send;
  }

  // A button for one staff decision on a payment (the app page's route of the same name).
  function paymentAction(p, label, route, done) {
    const path = `${apiPrefix}/payments/${p.id}/${route}`;
    return el("button", { type: "button", class: "button", onclick: (e) => act(e.target, path, {}, done) }, label);
  }

  function confirmationsText(p) {
    if (p.required_confirmations) return `${p.confirmations} of ${p.required_confirmations}`;
    return p.confirmations ? String(p.confirmations) : "—";
  }

  function invoiceLink(p) {
    const text = p.invoice_id || "—";
    if (!p.invoice_link) return el("code", { text });
    return el("a", { href: p.invoice_link, target: "_blank", rel: "noopener", text });
  }

  function coinText(p) {
    const amounts = (p.coins || [])
      .filter((c) => c.symbol)
      .map((c) =>
        Number(c.received) > 0 ? `${c.received} ${c.symbol} received` : `${c.asked || "?"} ${c.symbol} asked`,
      );
    return [p.coin || "not chosen yet", ...amounts].join(" · ");
  }

  function paymentCard(p) {
    const currency = p.currency;
    const txIds = (p.coins || []).flatMap((c) => c.tx_ids || []);
    const anyRefund = p.refunded !== undefined && (Number(p.refunded) > 0 || Number(p.refund_pending) > 0);
    const facts = el(
      "dl",
      { class: "facts" },
      fact("Coin", el("span", { class: "coin", text: coinText(p) })),
      p.address ? fact("Address", el("code", { text: p.address })) : null,
      fact("Asked", `${p.amount} ${currency}`),
      fact("Seen", `${p.seen} ${currency}`, el("span", { class: "muted", text: " unconfirmed" })),
      fact("Confirmed", `${p.confirmed} ${currency}`),
      fact("Credited", el("strong", { class: "credited", text: `${p.credited} ${currency}` })),
      fact("Confirmations", confirmationsText(p)),
      fact("Expires", when(p.expires_at)),
      fact("Invoice", invoiceLink(p)),
      txIds.length ? fact("Transaction", ...txIds.map((tx) => el("code", { class: "tx", text: tx }))) : null,
      anyRefund ? fact("Refunds", `refunded ${p.refunded} · pending ${p.refund_pending} ${currency}`) : null,
    );
    const reports = p.reports || {};
    const refused = `Saleor refused ${reports.failed} report(s)${reports.last_error ? `: ${reports.last_error}` : "."}`;
    const refunds = p.refund_list || [];
    return el(
      "article",
      { class: "payment", dataset: { paymentId: p.id } },
      el(
        "header",
        {},
        el("span", { class: "flow muted", text: FLOW[p.flow] || p.flow }),
        el("span", { class: `badge state-${p.state}`, text: p.words }),
      ),
      facts,
      reports.failed
        ? el(
            "div",
            { class: "problem" },
            el("p", { text: refused }),
            paymentAction(p, "Retry report", "retry-reports", "Reports queued again."),
          )
        : null,
      p.can_accept_or_refund
        ? el(
            "div",
            { class: "row" },
            paymentAction(p, "Accept as paid", "accept-as-paid", "Accepted as paid."),
            paymentAction(p, "Refund what came in", "refund-received", "A refund of what came in is open."),
          )
        : null,
      refunds.length ? el("ul", { class: "refunds" }, ...refunds.map(refundRow)) : null,
    );
  }

  function refundRow(refund) {
    const amount = el("strong", { text: `${refund.amount} ${refund.currency}` });
    const row = el(
      "li",
      { class: "refund", dataset: { refundId: refund.id } },
      el(
        "div",
        { class: "row spread" },
        el("span", {}, amount, refund.reason ? ` · ${refund.reason}` : ""),
        el("span", { class: `badge refund-${refund.state}`, text: REFUND_STATE[refund.state] || refund.state }),
      ),
      refund.state === "sent" && refund.txId
        ? el("p", { class: "muted" }, "transaction ", el("code", { text: refund.txId }))
        : null,
      refund.state === "declined" && refund.declineReason
        ? el("p", { class: "muted", text: refund.declineReason })
        : null,
    );
    if (refund.state === "requested") {
      const form = settleForm(refund);
      form.hidden = true;
      const open = el("button", { type: "button", class: "button" }, "Settle…");
      open.addEventListener("click", () => {
        form.hidden = false;
        open.hidden = true;
      });
      row.append(el("div", { class: "row" }, open), form);
    }
    return row;
  }

  function settleForm(refund) {
    const form = el(
      "form",
      { class: "settle stack", novalidate: true },
      el("label", {}, "Transaction id of your transfer", el("input", { name: "tx", autocomplete: "off" })),
      el("small", { class: "field-error", dataset: { errorFor: "tx" }, hidden: true }),
      el(
        "div",
        { class: "row" },
        el("label", {}, "Coin", el("input", { name: "coin", size: "6" })),
        el("label", {}, "Amount sent", el("input", { name: "amount", inputmode: "decimal", size: "12" })),
      ),
      el("small", { class: "field-error", dataset: { errorFor: "coin" }, hidden: true }),
      el("small", { class: "field-error", dataset: { errorFor: "amount" }, hidden: true }),
      el("label", {}, "Reason, to decline", el("input", { name: "reason" })),
      el("small", { class: "field-error", dataset: { errorFor: "reason" }, hidden: true }),
      el(
        "div",
        { class: "row" },
        el("button", { type: "submit", class: "button primary" }, "Complete refund"),
        el("button", { type: "button", class: "button", dataset: { decline: "" } }, "Decline refund"),
      ),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const body = { tx: form.tx.value };
      if (form.coin.value.trim()) body.coin = form.coin.value;
      if (form.amount.value.trim()) body.amount = form.amount.value.trim();
      const path = `${apiPrefix}/refunds/${refund.id}/complete`;
      act(form.querySelector("[type=submit]"), path, body, "Refund completed.", form);
    });
    form.querySelector("[data-decline]").addEventListener("click", (event) => {
      const path = `${apiPrefix}/refunds/${refund.id}/decline`;
      act(event.target, path, { reason: form.reason.value }, "Refund declined.", form);
    });
    return form;
  }

  // One staff action through the app page's own route, then the card read again.
  async function act(button, path, body, done, form) {
    button.disabled = true;
    try {
      const { ok, data } = await call("POST", path, body);
      if (form) fieldErrors(form, ok ? null : data.errors);
      if (!ok) {
        showBanner("error", errorMessage(data, "That did not work."));
        return;
      }
      showBanner("ok", done);
      sendToDashboard("notification", { status: "success", title: "CoinPayments", text: done });
      await load();
    } catch (error) {
      if (!(error instanceof NotAuthorised)) showBanner("error", "That did not work.");
    } finally {
      button.disabled = false;
    }
  }

  // ------------------------------------------------------------------ sending an invoice

  function wireInvoiceForm() {
    const form = $("#invoice-form");
    if (!form) return;
    const opener = $("#open-invoice-form");
    if (opener) {
      opener.addEventListener("click", () => {
        form.hidden = false;
        opener.hidden = true;
      });
      form.querySelector("[data-cancel]").addEventListener("click", () => {
        form.hidden = true;
        opener.hidden = false;
      });
    }
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("[type=submit]");
      const body = { orderId };
      if (form.dueDate.value) body.dueDate = form.dueDate.value;
      if (form.note.value.trim()) body.note = form.note.value.trim();
      button.disabled = true;
      try {
        const { ok, data } = await call("POST", sendInvoicePath, body);
        const badDate = data.error && data.error.code === "INVALID_DUE_DATE";
        fieldErrors(form, badDate ? { dueDate: data.error.message } : null);
        if (!ok) {
          showBanner("error", errorMessage(data, "The invoice was not sent."));
          return;
        }
        showBanner("ok", data.created ? `Invoice ${data.invoiceId} sent to ${data.email}.` : data.message);
        const text = `Invoice ${data.invoiceId} for ${data.amount} ${data.currency}.`;
        sendToDashboard("notification", { status: "success", title: "CoinPayments", text });
        if (view === "card") {
          form.hidden = true;
          await load();
        }
      } catch (error) {
        if (!(error instanceof NotAuthorised)) showBanner("error", "The invoice was not sent.");
      } finally {
        button.disabled = false;
      }
    });
  }

  // ------------------------------------------------------------------ start

  function start() {
    hideBanner();
    if (view === "invoice") {
      $("#waiting").hidden = true;
      $("#invoice-form").hidden = false;
      return;
    }
    load().catch(() => {});
  }

  for (const button of document.querySelectorAll("[data-close]")) button.addEventListener("click", closePopup);
  wireInvoiceForm();
  if (view === "card" && window.ResizeObserver) new ResizeObserver(reportHeight).observe(document.body);

  if (!bridge.framed() || !orderId) {
    $("#waiting").hidden = true;
    showBanner("error", `Open this from an order's page in the Saleor Dashboard of ${saleorApiUrl}.`);
    return;
  }
  bridge.connect(onToken);
  if (view === "card") reportHeight();
})();
