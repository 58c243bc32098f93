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
"use strict";

const GATEWAY = "saleor.coinpayments";

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
    log("error: " + text);
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
      throw new SaleorError(`Saleor at ${api} cannot be reached (${error.message}).`);
    }
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      throw new SaleorError(`Saleor answered ${response.status} without JSON.`);
    }
    if (body.errors && body.errors.length) throw new SaleorError(errorText(body.errors));
    if (!response.ok) throw new SaleorError(`Saleor answered ${response.status}.`);
    return body.data;
  }

  function mutationResult(data, name) {
    const result = data[name];
    if (result.errors && result.errors.length) throw new SaleorError(errorText(result.errors));
    return result;
  }

  const money = (m) => `${m.amount.toFixed ? m.amount.toFixed(2) : m.amount} ${m.currency}`;

  async function findVariant() {
    if (params.get("variant")) return { id: params.get("variant"), label: params.get("variant") };
    const data = await graphql(PRODUCTS, { channel });
    const product = data.products.edges[0];
    if (!product || !product.node.variants.length) throw new SaleorError(`Channel ${channel} has no product to sell.`);
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
          email: field("email"),
          lines: [{ variantId: variant.id, quantity: 1 }],
          shippingAddress: address,
          billingAddress: address,
        },
      }),
      "checkoutCreate",
    );
    let checkout = created.checkout;
    log(`checkout created: ${checkout.id}`);
    const methods = [...checkout.shippingMethods].sort((a, b) => a.price.amount - b.price.amount);
    if (methods.length) {
      const cheapest = methods[0];
      checkout = mutationResult(
        await graphql(DELIVERY_METHOD, { id: checkout.id, method: cheapest.id }),
        "checkoutDeliveryMethodUpdate",
      ).checkout;
      log(`shipping: ${cheapest.name} (${money(cheapest.price)})`);
    }
    return checkout;
  }

  async function showGateway(checkout) {
    $("total").textContent = `Total: ${money(checkout.totalPrice.gross)}`;
    const result = mutationResult(
      await graphql(GATEWAY_INITIALIZE, { id: checkout.id, gateways: [{ id: GATEWAY }] }),
      "paymentGatewayInitialize",
    );
    const config = result.gatewayConfigs.find((c) => c.id === GATEWAY);
    if (!config) throw new SaleorError("The CoinPayments app is not installed for this channel.");
    if (config.errors && config.errors.length) throw new SaleorError(errorText(config.errors));
    const data = config.data || {};
    if (!data.configured) throw new SaleorError(data.message || "Crypto payments are not set up for this shop.");
    $("gateway").textContent = `Pay with ${data.name || "crypto"}${data.testMode ? " (test mode)" : ""}. Coins:`;
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
    if (!result.transaction || !target) throw new SaleorError(event.message || "The payment could not be started.");
    sessionStorage.setItem(STORE, JSON.stringify({ checkout: checkout.id, transaction: result.transaction.id }));
    log("going to the payment page");
    window.location.assign(target);
  }

  async function finish() {
    const saved = JSON.parse(sessionStorage.getItem(STORE) || "null");
    if (!saved) throw new SaleorError("No payment was started from this browser tab.");
    $("result").hidden = false;
    $("again").hidden = true;
    $("result-title").textContent = "Checking the payment…";
    const processed = mutationResult(await graphql(TRANSACTION_PROCESS, { id: saved.transaction }), "transactionProcess");
    const type = processed.transactionEvent ? processed.transactionEvent.type : "";
    log(`payment: ${type || "no event"}`);
    if (type === "CHARGE_FAILURE") {
      $("result-title").textContent = "The payment did not go through";
      $("result-text").textContent = processed.transactionEvent.message || "Nothing was taken. Please start again.";
      sessionStorage.removeItem(STORE);
      return;
    }
    if (type !== "CHARGE_SUCCESS" && type !== "CHARGE_REQUEST") {
      $("result-title").textContent = "Still waiting for your payment";
      $("result-text").textContent =
        "We have not seen your payment yet, or it is still confirming on the network. " +
        "This can take a few minutes; your order is placed as soon as it arrives.";
      $("again").hidden = false;
      return;
    }
    const completed = mutationResult(await graphql(CHECKOUT_COMPLETE, { id: saved.checkout }), "checkoutComplete");
    sessionStorage.removeItem(STORE);
    $("result-title").textContent = `Thank you! Order #${completed.order.number}`;
    $("result-text").textContent =
      type === "CHARGE_SUCCESS"
        ? "Your payment is confirmed."
        : "Your payment was seen and is confirming on the network; the order is marked paid once it is confirmed.";
  }

  function report(error) {
    fail(error instanceof SaleorError ? error.message : `Something went wrong: ${error.message}`);
  }

  async function main() {
    if (!api || !channel) {
      fail("Open this page with ?api=<Saleor GraphQL URL>&channel=<channel slug>.");
      return;
    }
    $("again").onclick = () => finish().catch(report);
    if (params.get("return")) {
      $("product").hidden = true;
      await finish();
      return;
    }
    const variant = await findVariant();
    $("product").textContent = `Buying: ${variant.label}`;
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
