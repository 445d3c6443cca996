/*
 * The fake Polar's payment provider for the checkout page: test tokens instead of a card.
 *
 * Loaded after checkout.js (both `defer`, by payment/fake.html) and registered as the
 * "fake" provider. It reads config.payment, from FakePaymentProvider.script_config:
 *   tokens             [{id, label}]: the fake's test confirmation tokens (the template
 *                      renders them as radio buttons);
 *   completeActionUrl  where to POST to pass the fake's "3-D Secure" step for this
 *                      checkout (the fake's _fake/actions/<client secret>/complete route);
 *   strings            {chooseTestPayment}: translated messages of this script.
 */
(() => {
  "use strict";

  const { ApiError, PaymentProvider, registerPaymentProvider } = window.PolarCheckouts;

  class FakePaymentProvider extends PaymentProvider {
    async confirmationToken() {
      const chosen = this.page.$('input[name="fake_token"]:checked');
      if (!chosen) {
        const strings = this.config.strings || {};
        this.page.addError("payment", strings.chooseTestPayment || this.page.strings.genericError);
        return null;
      }
      return chosen.value;
    }

    /** The stand-in for the bank's check: a panel whose button completes the action. */
    async handleNextAction() {
      const panel = this.page.$("[data-polar-fake-action]");
      const button = this.page.$("[data-polar-fake-action-complete]");
      panel.hidden = false;
      button.disabled = false;
      this.page.setBusy(true);
      button.focus();
      await new Promise((resolve) => button.addEventListener("click", resolve, { once: true }));
      button.disabled = true;
      let response;
      try {
        response = await fetch(this.config.completeActionUrl, {
          method: "POST",
          credentials: "omit",
          cache: "no-store",
        });
      } catch {
        throw new ApiError(0, null);
      } finally {
        panel.hidden = true;
      }
      if (!response.ok) throw new ApiError(response.status, null);
    }
  }

  registerPaymentProvider("fake", FakePaymentProvider);
})();
