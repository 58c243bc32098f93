"""Response bodies as raw JSON text, the way they arrive.

Their shapes: docs/reference/coinpayments.md#created-invoice, #payment-address, #payment-status, #get-invoice,
#list-invoices, #webhook-subscriptions, #webhook-body, #currencies.
"""

from __future__ import annotations

CURRENCY_BTC = (
    '{"id": "1", "type": "crypto", "symbol": "BTC", "name": "Bitcoin",'
    ' "logo": {"imageUrl": "https://cdn.example.invalid/currencies/64x64/btc.png", "vectorUrl": null},'
    ' "decimalPlaces": 8, "rank": 1, "status": "active", "capabilities": ["payments", "singleSigAccounts", "utxo"],'
    ' "urls": {"websites": ["https://bitcoin.org"], "explorers": ["https://blockchain.info"]},'
    ' "requiredConfirmations": 2, "isEnabledForPayment": true}'
)
CURRENCY_USDT = (
    '{"id": "4:0xdac17f958d2ee523a2206206994597c13d831ec7", "type": "token", "symbol": "USDT.ERC20",'
    ' "name": "Tether USD (ERC20)", "decimalPlaces": 6, "rank": 5, "status": "active",'
    ' "capabilities": ["payments", "pooledAccounts"], "requiredConfirmations": 12, "isEnabledForPayment": true}'
)
CURRENCY_LTCT = (
    '{"id": "1002", "type": "crypto", "symbol": "LTCT", "name": "Litecoin Test",'
    ' "decimalPlaces": 8, "status": "active"}'
)  # fmt: skip
CURRENCY_USD = (
    '{"id": "5057", "type": "fiat", "symbol": "USD", "name": "United States Dollar",'
    ' "logo": {"imageUrl": "https://cdn.example.invalid/currencies/64x64/usd.png", "vectorUrl": null},'
    ' "decimalPlaces": 2, "rank": 0, "status": "active", "capabilities": [], "urls": {"websites": [], "explorers": []},'
    ' "requiredConfirmations": 0, "isEnabledForPayment": false}'
)

CREATE_3B = (
    '{"invoices": [{"id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",'
    ' "link": "https://a-checkout.coinpayments.net/invoices/7c9e6679-7425-40de-944b-e07fc1f90ae7",'
    ' "checkoutLink": "https://a-checkout.coinpayments.net/checkout/?invoice-id=7c9e6679-7425-40de-944b-e07fc1f90ae7",'
    ' "payment": {"paymentId": "3b2f4f0e-2d4c-4b9a-9a51-6f0c1d2e3a4b", "expires": "2025-03-01T03:30:00+00:00",'
    ' "refundEmail": "buyer@example.com", "paymentCurrencies": ['
    ' {"currency": ' + CURRENCY_BTC + ', "isDisabled": false, "amount": "0.00051240",'
    ' "approximateNetworkAmount": "0.00000450", "remainingAmount": "0.00051240"},'
    ' {"currency": ' + CURRENCY_USDT + ', "isDisabled": false, "amount": "45.012345",'
    ' "approximateNetworkAmount": "1.250000", "remainingAmount": "45.012345"}]}}]}'
)

CREATE_3C = (
    '{"invoices": [{"id": "0d3e8a2b-6b1f-4f43-9f8e-2b7f3c1a5e90",'
    ' "link": "https://a-checkout.coinpayments.net/invoices/0d3e8a2b-6b1f-4f43-9f8e-2b7f3c1a5e90",'
    ' "checkoutLink": "https://a-checkout.coinpayments.net/checkout/?invoice-id=0d3e8a2b-6b1f-4f43-9f8e-2b7f3c1a5e90",'
    ' "payment": {"paymentId": "a8b5c3d1-1e2f-4a5b-8c9d-0e1f2a3b4c5d", "expires": "2025-03-01T03:30:00+00:00",'
    ' "refundEmail": "buyer@example.com", "paymentCurrencies": [{"currency": ' + CURRENCY_LTCT + ","
    ' "isDisabled": false, "amount": "0.01812500", "approximateNetworkAmount": "0.00001000",'
    ' "remainingAmount": "0.01812500"}]},'
    ' "hotWallet": {"currency": ' + CURRENCY_LTCT + ', "amount": "0.01812500", "remainingAmount": "0.01812500",'
    ' "addresses": {"address": "mkT3yFq1e7xQ9pBn8J2vYkLh4gP5sW6dZr",'
    ' "biP21": "litecoin:mkT3yFq1e7xQ9pBn8J2vYkLh4gP5sW6dZr?amount=0.018125"},'
    ' "expires": "2025-03-01T03:30:00+00:00"}}]}'
)

INVOICE_6A = """{
  "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "invoiceId": "ORDER-1001", "invoiceIdSuffix": null,
  "created": "2025-03-01T02:30:01+00:00", "invoiceDate": "2025-03-01T02:30:01+00:00", "dueDate": null,
  "confirmed": "2025-03-01T02:52:10+00:00", "completed": "2025-03-01T03:05:44+00:00", "cancelled": null,
  "expires": "2026-03-01T02:30:01+00:00",
  "currency": { "id": "5057", "symbol": "USD", "name": "United States Dollar", "token": null, "logo": null,
                "decimalPlaces": 2 },
  "buyer": { "companyName": null, "name": null, "emailAddress": "buyer@example.com", "phoneNumber": null,
             "address": null },
  "description": "Order 1001",
  "items": [ { "customId": "sku-ts-01", "sku": "TS-01", "name": "T-shirt", "description": null,
               "quantity": { "value": 2, "type": "quantity" }, "originalAmount": "40.00", "amount": "36.00",
               "tax": "2.88" } ],
  "amount": { "breakdown": { "subtotal": "36.00", "shipping": "5.00", "handling": "1.00", "taxTotal": "2.88",
              "discount": "0.00" }, "total": "44.88" },
  "customData": { "orderId": "1001", "cartHash": "9f2c" },
  "status": "completed",
  "requireBuyerNameAndEmail": false, "isEmailDelivery": false,
  "metadata": { "integration": "acme-shop/1.4.0", "hostname": "shop.example.com" },
  "poNumber": "0000000000001001",
  "payments": [
    { "paymentCurrencyId": "1", "paymentCurrencySymbol": "BTC", "nativeCurrencyId": "5057",
      "nativeCurrencySymbol": "USD", "expectedAmount": "0.00051240", "nativeExpectedAmount": "44.88",
      "actualAmount": "0.00051240", "nativeActualAmount": "44.88",
      "paymentAddress": "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh", "errorCode": null,
      "refundEmail": "buyer@example.com", "state": "completed", "isActive": false,
      "pendingAt": "2025-03-01T02:41:02+00:00", "confirmedAt": "2025-03-01T02:52:10+00:00",
      "completedAt": "2025-03-01T03:05:44+00:00", "confirmations": 2, "requiredConfirmations": 2 }
  ],
  "isLifeTimeFinished": false, "hideShoppingCart": true,
  "successUrl": "https://shop.example.com/orders/1001/thanks",
  "cancelUrl": "https://shop.example.com/orders/1001/cancelled"
}"""

LIST_6B = """{
  "items": [
    { "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "invoiceId": "ORDER-1001",
      "created": "2025-03-01T02:30:01+00:00", "invoiceDate": "2025-03-01T02:30:01+00:00",
      "confirmed": "2025-03-01T02:52:10+00:00",
      "currency": { "id": "5057", "symbol": "USD", "name": "United States Dollar", "decimalPlaces": 2 },
      "amount": { "currencyId": "5057", "currencySymbol": "USD", "displayValue": "44.88", "value": "4488",
                  "valueAsDecimal": 4488 },
      "status": "paid", "metadata": { "integration": "acme-shop/1.4.0" }, "isEmailDelivery": false,
      "partialAcceptAvailable": false, "isLifeTimeFinished": false }
  ],
  "paging": { "cursors": { "before": null, "after": "7c9e6679-7425-40de-944b-e07fc1f90ae7" }, "limit": 2,
              "first": null, "next": null, "previous": null, "last": null }
}"""

ADDRESS_4A = """{
  "currency": { "id": "1", "type": "crypto", "symbol": "BTC", "name": "Bitcoin", "decimalPlaces": 8, "rank": 1,
                "status": "active", "requiredConfirmations": 2 },
  "amount": {
    "currencyId": "1", "displayValue": "0.00051240", "value": "51240", "valueAsDecimal": 51240, "rate": 0.000011417,
    "breakdown": [
      { "name": "subtotal", "currencyId": "1", "displayValue": "0.00046790", "value": "46790",
        "valueAsDecimal": 46790 },
      { "name": "networkFee", "currencyId": "1", "displayValue": "0.00004450", "value": "4450", "valueAsDecimal": 4450 }
    ]
  },
  "addresses": { "address": "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",
                 "biP21": "bitcoin:bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh?amount=0.0005124" },
  "expires": "2025-03-01T03:30:00+00:00",
  "remainingAmount": { "currencyId": "1", "displayValue": "0.00051240", "value": "51240", "valueAsDecimal": 51240 }
}"""

ADDRESS_4B = """{
  "currency": { "id": "4:0xdac17f958d2ee523a2206206994597c13d831ec7", "type": "token", "symbol": "USDT.ERC20",
                "name": "Tether USD (ERC20)", "decimalPlaces": 6, "status": "active", "requiredConfirmations": 12 },
  "amount": { "currencyId": "4:0xdac17f958d2ee523a2206206994597c13d831ec7", "displayValue": "45.012345",
              "value": "45012345", "valueAsDecimal": 45012345, "rate": 1.00027, "breakdown": [] },
  "addresses": { "address": "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf", "biP21": null },
  "expires": "2025-03-01T03:30:00+00:00",
  "remainingAmount": { "currencyId": "4:0xdac17f958d2ee523a2206206994597c13d831ec7", "displayValue": "45.012345",
                       "value": "45012345", "valueAsDecimal": 45012345 }
}"""

STATUS_5B = """{ "created": "2025-03-01T02:30:01+00:00", "expires": "2025-03-01T03:30:01+00:00", "status": "pending",
  "payment": { "currencyId": 1, "confirmations": 1, "requiredConfirmations": 2,
    "confirmedAmount": { "currencyId": "1", "displayValue": "0.00000000", "value": "0", "valueAsDecimal": 0 },
    "unconfirmedAmount": { "currencyId": "1", "displayValue": "0.00051240", "value": "51240",
                           "valueAsDecimal": 51240 } },
  "partialAcceptAvailable": false }"""

WEBHOOK_LIST = """{ "items": [ { "id": "0a54b29f-51cb-44a8-9bed-111c5cb1b335",
  "notificationsUrl": "https://merchant.example.com/coinpayments/webhook",
  "notifications": ["invoiceCreated","invoicePending","invoicePaid","invoiceCompleted","invoiceCancelled",
                    "invoiceTimedOut"],
  "createdFromUI": false } ],
  "paging": { "cursors": { "before": null, "after": null }, "limit": 100 } }"""

DELIVERY_7B = """{
  "id": "c4e1a2b3d4f54a6b8c9d0e1f2a3b4c5d", "type": "InvoicePending",
  "timestamp": "2025-03-01T02:41:03.0052210+00:00",
  "invoice": {
    "invoiceId": "ORDER-1001", "id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
    "merchantClientId": "0a1b2c3d-4e5f-4071-8293-a4b5c6d7e8f9",
    "createdAt": 1740796201, "expiresDate": 1772332201,
    "customData": { "orderId": "1001", "cartHash": "9f2c" },
    "amount": { "currency": { "id": 5057, "smartContract": null }, "subtotal": 3600, "shippingTotal": 500,
                "handlingTotal": 100, "discountTotal": 0, "taxTotal": 288, "total": 4488 },
    "state": "Pending", "canceledAt": null, "completedAt": null, "confirmedAt": null,
    "payments": [ { "id": "3b2f4f0e-2d4c-4b9a-9a51-6f0c1d2e3a4b", "state": "Pending",
                    "hotWallet": { "confirmations": 1, "requiredConfirmations": 2, "confirmedAmount": 0,
                                   "unconfirmedAmount": 51240 } } ],
    "partialAcceptAvailable": false
  }
}"""
