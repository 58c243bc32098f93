// A whole crypto purchase against a Saleor's public GraphQL API, with no build step and no library.
//
//   index.html?api=<Saleor GraphQL URL>&channel=<channel slug>[&variant=<product variant id>]
//
// 1. checkoutCreate with an e-mail and an address (the first product of the channel, or `variant`)
// 2. checkoutDeliveryMethodUpdate with the cheapest shipping method
// 3. paymentGatewayInitialize: shows the CoinPayments gateway and its coins
// 4. transactionInitialize, then the buyer goes to the returned page (CoinPayments' or the app's)
// 5. back here: transactionProcess, then checkoutComplete; the order number, or an honest
//    "still confirming" message.
// Every GraphQL document is marked /* GraphQL */ so the app's tests can check them against Saleor's
// schemas. Errors from Saleor are shown as text.
//
// The page speaks the buyer's language (`&lang=de`, else the browser's, else English) and creates the
// checkout in it (`languageCode`), so the app's pay page opens in the same language. Its sentences are
// `_("…")` here; their translations come from the app's catalogs, in messages.js (`make i18n-compile`
// writes it).
"use strict";

const GATEWAY = "saleor.coinpayments";
// The page's languages and their Saleor LanguageCodeEnum.
const SALEOR_LANGUAGES = {
  en: "EN_US", de: "DE", fr: "FR", es: "ES", it: "IT", pt_BR: "PT_BR", pl: "PL", nl: "NL", tr: "TR", ja: "JA",
  zh_Hans: "ZH_HANS", ar: "AR",
};
const LANGUAGE_NAMES = {
  en: "English", de: "Deutsch", fr: "Français", es: "Español", it: "Italiano", pt_BR: "Português (Brasil)",
  pl: "Polski", nl: "Nederlands", tr: "Türkçe", ja: "日本語", zh_Hans: "中文 (简体)", ar: "العربية",
};

// One of the page's languages for a tag such as "de-AT", "pt", "zh-CN"; null for others.
function pageLanguage(tag) {
  const key = String(tag || "").replace(/-/g, "_").toLowerCase();
  if (/^zh_(hant|tw|hk|mo)/.test(key)) return null;
  const aliases = { pt: "pt_BR", zh: "zh_Hans", zh_cn: "zh_Hans", zh_sg: "zh_Hans" };
  for (let part = key; part; part = part.includes("_") ? part.slice(0, part.lastIndexOf("_")) : "") {
    const found = Object.keys(SALEOR_LANGUAGES).find((code) => code.toLowerCase() === part) || aliases[part];
    if (found) return found;
  }
  return null;
}

const LANG = (() => {
  const asked = pageLanguage(new URLSearchParams(window.location.search).get("lang"));
  if (asked) return asked;
  for (const tag of navigator.languages || [navigator.language]) {
    const found = pageLanguage(tag);
    if (found) return found;
  }
  return "en";
})();
const TAG = LANG.replace("_", "-");

// A sentence in the page's language, with its {placeholders} filled in.
function _(message, values) {
  const catalog = (window.STOREFRONT_MESSAGES || {})[LANG] || {};
  const text = catalog[message] || message;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (values && name in values ? String(values[name]) : whole));
}

const PRODUCTS = /* GraphQL */ `
  query StorefrontProducts($channel: String!) {
    products(first: 1, channel: $channel) {
      edges { node { name variants { id name } } }
    }
  }
`;

const CHECKOUT_CREATE = /* GraphQL */ `
  mutation StorefrontCheckoutCreate($input: CheckoutCreateInput!) {
    checkoutCreate(input: $input) {
      checkout {
        id
        totalPrice { gross { amount currency } }
        shippingMethods { id name price { amount currency } }
      }
      errors { field message code }
    }
  }
`;

const DELIVERY_METHOD = /* GraphQL */ `
  mutation StorefrontDeliveryMethod($id: ID!, $method: ID!) {
    checkoutDeliveryMethodUpdate(id: $id, deliveryMethodId: $method) {
      checkout { id totalPrice { gross { amount currency } } }
      errors { field message code }
    }
  }
`;

const GATEWAY_INITIALIZE = /* GraphQL */ `
  mutation StorefrontGatewayInitialize($id: ID!, $gateways: [PaymentGatewayToInitialize!]) {
    paymentGatewayInitialize(id: $id, paymentGateways: $gateways) {
      gatewayConfigs { id data errors { field message code } }
      errors { field message code }
    }
  }
`;

const TRANSACTION_INITIALIZE = /* GraphQL */ `
  mutation StorefrontTransactionInitialize($id: ID!, $gateway: PaymentGatewayToInitialize!, $key: String) {
    transactionInitialize(id: $id, paymentGateway: $gateway, idempotencyKey: $key) {
      transaction { id }
      transactionEvent { type message externalUrl }
      data
      errors { field message code }
    }
  }
`;

const TRANSACTION_PROCESS = /* GraphQL */ `
  mutation StorefrontTransactionProcess($id: ID!) {
    transactionProcess(id: $id) {
      transaction { id }
      transactionEvent { type message }
      data
      errors { field message code }
    }
  }
`;

const CHECKOUT_COMPLETE = /* GraphQL */ `
  mutation StorefrontCheckoutComplete($id: ID!) {
    checkoutComplete(id: $id) {
      order { id number }
      errors { field message code }
    }
  }
`;

(() => {
  const params = new URLSearchParams(window.location.search);
  const api = params.get("api");
  const channel = params.get("channel");
  const $ = (id) => document.getElementById(id);
  const STORE = "storefront-example:" + (api || "") + ":" + (channel || "");

  function log(text) {
    const item = document.createElement("li");
    item.textContent = text;
    $("log").append(item);
  }

  function fail(text) {
    $("error").textContent = text;
    $("error").hidden = false;
    log(_("Error: {message}", { message: text }));
  }

  class SaleorError extends Error {}

  function errorText(errors) {
    return errors.map((e) => (e.field ? `${e.field}: ` : "") + (e.message || e.code || "error")).join("\n");
  }

  async function graphql(query, variables) {
    let response;
    try {
      response = await fetch(api, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ query, variables }),
      });
    } catch (error) {
      throw new SaleorError(_("Saleor at {api} cannot be reached ({message}).", { api, message: error.message }));
    }
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      throw new SaleorError(_("Saleor answered {status} without JSON.", { status: response.status }));
    }
    if (body.errors && body.errors.length) throw new SaleorError(errorText(body.errors));
    if (!response.ok) throw new SaleorError(_("Saleor answered {status}.", { status: response.status }));
    return body.data;
  }

  function mutationResult(data, name) {
    const result = data[name];
    if (result.errors && result.errors.length) throw new SaleorError(errorText(result.errors));
    return result;
  }

  const money = (m) => {
    try {
      return new Intl.NumberFormat(TAG, { style: "currency", currency: m.currency }).format(m.amount);
    } catch (_error) {
      return `${m.amount} ${m.currency}`;
    }
  };

  // The page's fixed words, and the language links (each language named in itself).
  function translatePage() {
    document.documentElement.lang = TAG;
    document.documentElement.dir = LANG === "ar" ? "rtl" : "ltr";
    const words = {
      title: _("Crypto checkout — storefront example"),
      heading: _("Storefront example: pay with crypto"),
      product: _("Loading the product…"),
      details: _("Your details"),
      email: _("E-mail"),
      firstName: _("First name"),
      lastName: _("Last name"),
      street: _("Street"),
      city: _("City"),
      postalCode: _("Postal code"),
      country: _("Country code"),
      start: _("Continue to payment"),
      payment: _("Payment"),
      pay: _("Pay with crypto"),
      again: _("Check again"),
      log: _("What happened"),
      languages: _("Language"),
    };
    document.title = words.title;
    for (const element of document.querySelectorAll("[data-words]")) element.textContent = words[element.dataset.words];
    $("log").setAttribute("aria-label", words.log);
    $("languages").setAttribute("aria-label", words.languages);
    $("languages").replaceChildren(
      ...Object.keys(SALEOR_LANGUAGES).map((code) => {
        const link = document.createElement("a");
        const here = new URL(window.location.href);
        here.searchParams.set("lang", code);
        here.searchParams.delete("return");
        link.href = here.href;
        link.lang = link.hreflang = code.replace("_", "-");
        link.textContent = LANGUAGE_NAMES[code];
        if (code === LANG) link.setAttribute("aria-current", "true");
        return link;
      }),
    );
  }

  async function findVariant() {
    if (params.get("variant")) return { id: params.get("variant"), label: params.get("variant") };
    const data = await graphql(PRODUCTS, { channel });
    const product = data.products.edges[0];
    if (!product || !product.node.variants.length) {
      throw new SaleorError(_("Channel {channel} has no product to sell.", { channel }));
    }
    const variant = product.node.variants[0];
    return { id: variant.id, label: `${product.node.name} (${variant.name})` };
  }

  async function startCheckout(variant, form) {
    const field = (name) => form.elements.namedItem(name).value.trim();
    const address = {
      firstName: field("firstName"),
      lastName: field("lastName"),
      streetAddress1: field("streetAddress1"),
      city: field("city"),
      postalCode: field("postalCode"),
      country: field("country").toUpperCase(),
    };
    const created = mutationResult(
      await graphql(CHECKOUT_CREATE, {
        input: {
          channel,
          languageCode: SALEOR_LANGUAGES[LANG],
          email: field("email"),
          lines: [{ variantId: variant.id, quantity: 1 }],
          shippingAddress: address,
          billingAddress: address,
        },
      }),
      "checkoutCreate",
    );
    let checkout = created.checkout;
    log(_("Checkout created: {id}", { id: checkout.id }));
    const methods = [...checkout.shippingMethods].sort((a, b) => a.price.amount - b.price.amount);
    if (methods.length) {
      const cheapest = methods[0];
      checkout = mutationResult(
        await graphql(DELIVERY_METHOD, { id: checkout.id, method: cheapest.id }),
        "checkoutDeliveryMethodUpdate",
      ).checkout;
      log(_("Shipping: {method} ({price})", { method: cheapest.name, price: money(cheapest.price) }));
    }
    return checkout;
  }

  async function showGateway(checkout) {
    $("total").textContent = _("Total: {amount}", { amount: money(checkout.totalPrice.gross) });
    const result = mutationResult(
      await graphql(GATEWAY_INITIALIZE, { id: checkout.id, gateways: [{ id: GATEWAY }] }),
      "paymentGatewayInitialize",
    );
    const config = result.gatewayConfigs.find((c) => c.id === GATEWAY);
    if (!config) throw new SaleorError(_("The CoinPayments app is not installed for this channel."));
    if (config.errors && config.errors.length) throw new SaleorError(errorText(config.errors));
    const data = config.data || {};
    if (!data.configured) throw new SaleorError(data.message || _("Crypto payments are not set up for this shop."));
    const name = data.name || _("crypto");
    $("gateway").textContent = data.testMode
      ? _("Pay with {name} (test mode). Coins:", { name })
      : _("Pay with {name}. Coins:", { name });
    $("coins").replaceChildren(
      ...(data.coins || []).map((coin) => {
        const item = document.createElement("li");
        item.textContent = coin.name ? `${coin.name} (${coin.symbol})` : coin.symbol;
        return item;
      }),
    );
    $("payment").hidden = false;
    $("pay").hidden = false;
    $("pay").onclick = () => pay(checkout).catch(report);
  }

  async function pay(checkout) {
    $("pay").disabled = true;
    const back = new URL(window.location.href);
    back.searchParams.set("return", "1");
    back.searchParams.set("lang", LANG); // back in the checkout's language
    const key = crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
    const result = mutationResult(
      await graphql(TRANSACTION_INITIALIZE, {
        id: checkout.id,
        gateway: { id: GATEWAY, data: { successUrl: back.href, cancelUrl: back.href } },
        key,
      }),
      "transactionInitialize",
    );
    const event = result.transactionEvent || {};
    const data = result.data || {};
    if (data.error) throw new SaleorError(data.error.message);
    const target = data.checkoutUrl || event.externalUrl;
    if (!result.transaction || !target) throw new SaleorError(event.message || _("The payment could not be started."));
    sessionStorage.setItem(STORE, JSON.stringify({ checkout: checkout.id, transaction: result.transaction.id }));
    log(_("Going to the payment page"));
    window.location.assign(target);
  }

  async function finish() {
    const saved = JSON.parse(sessionStorage.getItem(STORE) || "null");
    if (!saved) throw new SaleorError(_("No payment was started from this browser tab."));
    $("result").hidden = false;
    $("again").hidden = true;
    $("result-title").textContent = _("Checking the payment…");
    const processed = mutationResult(await graphql(TRANSACTION_PROCESS, { id: saved.transaction }), "transactionProcess");
    const type = processed.transactionEvent ? processed.transactionEvent.type : "";
    log(_("Payment: {event}", { event: type || _("no event") }));
    if (type === "CHARGE_FAILURE") {
      $("result-title").textContent = _("The payment did not go through");
      $("result-text").textContent = processed.transactionEvent.message || _("Nothing was taken. Please start again.");
      sessionStorage.removeItem(STORE);
      return;
    }
    if (type !== "CHARGE_SUCCESS" && type !== "CHARGE_REQUEST") {
      $("result-title").textContent = _("Still waiting for your payment");
      $("result-text").textContent = _(
        "We have not seen your payment yet, or it is still confirming on the network. This can take a few minutes; your order is placed as soon as it arrives.",
      );
      $("again").hidden = false;
      return;
    }
    const completed = mutationResult(await graphql(CHECKOUT_COMPLETE, { id: saved.checkout }), "checkoutComplete");
    sessionStorage.removeItem(STORE);
    $("result-title").textContent = _("Thank you! Order #{number}", { number: completed.order.number });
    $("result-text").textContent =
      type === "CHARGE_SUCCESS"
        ? _("Your payment is confirmed.")
        : _("Your payment was seen and is confirming on the network; the order is marked paid once it is confirmed.");
  }

  function report(error) {
    fail(error instanceof SaleorError ? error.message : _("Something went wrong: {message}", { message: error.message }));
  }

  async function main() {
    translatePage();
    if (!api || !channel) {
      fail(_("Open this page with ?api=<Saleor GraphQL URL>&channel=<channel slug>."));
      return;
    }
    $("again").onclick = () => finish().catch(report);
    if (params.get("return")) {
      $("product").hidden = true;
      await finish();
      return;
    }
    const variant = await findVariant();
    $("product").textContent = _("Buying: {product}", { product: variant.label });
    $("details").hidden = false;
    $("details").onsubmit = (event) => {
      event.preventDefault();
      $("start").disabled = true;
      startCheckout(variant, event.currentTarget)
        .then(showGateway)
        .catch((error) => {
          $("start").disabled = false;
          report(error);
        });
    };
  }

  main().catch(report);
})();
