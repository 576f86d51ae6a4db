import Foundation
import FynloPOSCore
import FynloSyncCore
import Testing

/// The server's bodies as the iPad reads them (server/payments/schemas.py; the socket's
/// frames in shared/schema/realtime/server-message.json).
@Suite("payment wire")
struct PaymentWireTests {
    @Test func aPayByBankPaymentReadsWithItsQRAndInstant() throws {
        let body = try JSONReader.parse(#"""
            {"id": "9F1D4C2A-2B4E-4F5B-9D1E-3C6A7B8C9D0E", "order_id": "c3a1e6f0-3b2d-4c5e-8f9a-0b1c2d3e4f50",
             "location_id": "5a0c6a52-7e0a-4f35-9a51-0e3f1c2b4d6e", "method": "open_banking",
             "state": "awaiting_customer", "currency": "GBP", "amount": 2500, "tip": 0, "surcharge": 0,
             "charged": 2500, "tendered": null, "change": null, "refunded": 0,
             "fees": {"schedule": "default", "estimated_provider_fee": 5, "platform_fee": 25, "provider_fee": null},
             "qr": {"png": "/api/v1/payments/9f1d/qr.png", "svg": "/api/v1/payments/9f1d/qr.svg",
                    "link": "http://127.0.0.1:8000/pay/9f1d?t=abc", "expires_at": "2026-12-05T10:50:00.123456Z"},
             "client_secret": null, "failure_reason": null, "fallback": [], "open_drawer": false,
             "reader_id": null, "offline_stored_at": null, "capture_hold": null, "settlement": null,
             "created_at": "2026-12-05T10:35:00Z", "succeeded_at": null, "new_member": 1}
            """#)
        let view = try PaymentView(json: body)
        #expect(view.id == "9f1d4c2a-2b4e-4f5b-9d1e-3c6a7b8c9d0e")
        #expect(view.method == .openBanking)
        #expect(view.state == .awaitingCustomer)
        #expect(view.qr?.link == "http://127.0.0.1:8000/pay/9f1d?t=abc")
        #expect(view.qr?.expiresAtMs == 1_796_467_800_123)
        #expect(try PaymentView(json: view.json) == view)
    }

    @Test func anUnknownStateOrMethodIsKeptAsText() throws {
        let view = try PaymentView(json: [
            "id": "a", "order_id": "b", "method": "crypto", "state": "pondering", "amount": 1, "fallback": ["cash", "barter"],
        ])
        #expect(view.method == nil && view.methodName == "crypto")
        #expect(view.state == nil && view.stateName == "pondering")
        #expect(view.fallback == [.cash])
    }

    @Test func aRequestCarriesOnlyItsMethodsMembers() throws {
        let cash = PaymentRequest(orderID: "O", method: .cash, amount: 300, tip: 20, tendered: 500)
        #expect(cash.json == ["order_id": "o", "method": "cash", "amount": 300, "tip": 20, "tendered": 500])
        let bank = PaymentRequest(orderID: "o", method: .openBanking, amount: 300)
        #expect(bank.json == ["order_id": "o", "method": "open_banking", "amount": 300])
        #expect(try PaymentRequest(json: cash.json) == cash)
    }

    @Test func theQuoteReadsCheapestFirst() throws {
        let quote = try PaymentQuote(json: [
            "amount": 2500, "currency": "GBP", "schedule": "default", "surcharge_policy": "absorb",
            "methods": [
                ["method": "cash", "provider_fee": 0, "platform_fee": 0, "total_fee": 0, "saving_vs_card": 128, "surcharge": 0, "customer_pays": 2500],
                ["method": "open_banking", "provider_fee": 5, "platform_fee": 25, "total_fee": 30, "saving_vs_card": 98, "surcharge": 0, "customer_pays": 2500],
            ],
        ])
        #expect(quote.methods.map(\.method) == [.cash, .openBanking])
        #expect(quote.methods[1].totalFee == 30)
        #expect(quote.methods[1].savingVsCard == 98)
    }

    @Test func socketFramesRead() {
        #expect(LiveEvent(frame: #"{"type":"welcome","channels":["a"],"expires_at":5,"heartbeat_seconds":20.0}"#)
            == .welcome(channels: ["a"], expiresAt: 5, heartbeatSeconds: 20))
        #expect(LiveEvent(frame: #"{"type":"ping","server_time":7}"#) == .ping(serverTimeMs: 7))
        #expect(LiveEvent(frame: #"{"type":"sync.poke","restaurant_id":"r","location_id":null}"#) == .syncPoke(locationID: nil))
        #expect(LiveEvent(frame: #"{"type":"payment.status","restaurant_id":"r","location_id":"l","payment_id":"P","order_id":"O","method":"cash","state":"succeeded"}"#)
            == .paymentStatus(paymentID: "p", orderID: "o", method: "cash", state: "succeeded"))
        #expect(LiveEvent(frame: #"{"type":"device.presence","online":true}"#) == .other(type: "device.presence"))
        #expect(LiveEvent(frame: "not json") == nil)
        let auth = try? JSONReader.parse(LiveFrame.auth(deviceToken: "d", employeeToken: nil))
        #expect(auth == ["type": "auth", "token": "d", "employee_token": nil])
    }

    @Test func moneyAndTimeInWords() {
        #expect(PaymentWords.money(2_500, "GBP") == "£25.00")
        #expect(PaymentWords.money(5, "EUR") == "€0.05")
        #expect(PaymentWords.money(-1_234, "USD") == "-12.34 USD")
        #expect(PaymentWords.countdown(900) == "15:00")
        #expect(PaymentWords.countdown(61) == "1:01")
    }
}
