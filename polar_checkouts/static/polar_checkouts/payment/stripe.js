/*
 * django-polar-checkouts: Stripe's Payment Element on the checkout page.
 *
 * Loaded after checkout.js and Stripe.js (all `defer`, by payment/stripe.html); it
 * registers itself as the "stripe" payment provider and reads config.payment
 * ({provider: "stripe", publishableKey}). Name, email and address come from the page's
 * own fields; Stripe only collects the card (or other method) and makes a confirmation
 * token, which Polar's confirm charges.
 */
(() => {
  "use strict";

  const { PaymentProvider, registerPaymentProvider } = window.PolarCheckouts;

  /** The Elements options a checkout needs: payment, subscription or setup mode. */
  const elementsOptions = (checkout) => {
    const currency = (checkout.currency || "usd").toLowerCase();
    if (checkout.is_payment_required && checkout.is_payment_setup_required) {
      return { mode: "subscription", amount: checkout.total_amount, currency, setupFutureUsage: "off_session" };
    }
    if (checkout.is_payment_required) return { mode: "payment", amount: checkout.total_amount, currency };
    return { mode: "setup", currency, setupFutureUsage: "off_session" };
  };

  class StripeProvider extends PaymentProvider {
    start(checkout) {
      this.stripe = null;
      this.elements = null;
      if (typeof window.Stripe !== "function" || !this.config.publishableKey) {
        this.page.addError("payment", this.page.strings.paymentUnavailable);
        return;
      }
      this.stripe = window.Stripe(this.config.publishableKey);
      const options = elementsOptions(checkout);
      this.elementsKey = JSON.stringify(options);
      this.elements = this.stripe.elements({ ...options, paymentMethodCreation: "manual" });
      this.elements
        .create("payment", { fields: { billingDetails: { name: "never", email: "never", address: "never" } } })
        .mount(this.page.$("[data-polar-stripe]"));
    }

    update(checkout) {
      if (!this.elements) return;
      const options = elementsOptions(checkout);
      const key = JSON.stringify(options);
      // Only a real change: Elements re-renders on every update.
      if (key === this.elementsKey) return;
      this.elementsKey = key;
      this.elements.update(options);
    }

    async confirmationToken() {
      if (!this.elements) return super.confirmationToken();
      const { strings } = this.page;
      const submitted = await this.elements.submit();
      if (submitted.error) {
        this.page.addError("payment", submitted.error.message || strings.genericError);
        return null;
      }
      const result = await this.stripe.createConfirmationToken({
        elements: this.elements,
        params: { payment_method_data: { billing_details: this.page.billingDetails() } },
      });
      if (result.error) {
        this.page.addError("payment", result.error.message || strings.genericError);
        return null;
      }
      return result.confirmationToken.id;
    }

    async handleNextAction(metadata) {
      const result = await this.stripe.handleNextAction({ clientSecret: metadata.intent_client_secret });
      // A failed authentication fails the payment in Polar; the status poll reports it.
      if (result.error) this.page.addError("payment", result.error.message || this.page.strings.authFailed);
    }
  }

  registerPaymentProvider("stripe", StripeProvider);
})();
