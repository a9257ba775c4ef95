"""Every write of the parking app, one module per responsibility (import from the module itself):

- `stays`: lots and their tariffs, occupancy, and the camera events that open and close a stay
  (entry and exit, with the barrier's answer);
- `payments`: a stay's fee payments: refresh, pay (with a coupon), auto-debit and open debts;
- `vehicles`: customers' vehicles and their auto-pay;
- `partnerships`: another organization's coupons honoured at some lots, the monthly cap and the
  settlement entries between the two organizations;
- `merchants`: shops, their staff, the coupon quotas they buy, the coupons they issue, their
  redemption and the refund of unused ones.

Lock order. A service that locks several rows takes them in this order, so two services never wait
on each other in a circle:

    parking session -> parking payment -> lot (conditional UPDATE) -> coupon order
        -> partnership month (conditional UPDATE) -> wallet
    parking session -> parking payment -> lot -> merchant issue (SKIP LOCKED)
        -> merchant quota (conditional UPDATE) -> wallet

(a payment takes a coupon order or a merchant issue, never both). A quota's refund locks the quota,
then the merchant's wallet, and expires the issues afterwards in a transaction of its own; ending a
partnership locks only the partnership row, which no redemption locks.

The session row is the mutex of everything that prices or pays a stay: fee queries, payments,
the exit and the auto-debit all lock it first, so two of them never price the same stay at once.
Money moves only through `wallet.services.wallet_debit` with the key `parking_payment:<id>`, unique
per wallet in the ledger: a payment can be charged once, whatever retries or races happen.
"""
