/*
 * django-polar-checkouts: the checkout page and the "still processing" page.
 *
 * No build step and no inline script: the page hands its data over in
 * <script type="application/json" id="polar-checkout-config"> (Django's json_script).
 * The same code talks to Polar's client routes ("browser" mode) or to this app's
 * mirror of them ("server" mode): only the base URL and the CSRF header differ.
 *
 * The one global this script defines, window.PolarCheckouts:
 *
 *   PolarCheckouts.registerPaymentProvider(name, ProviderClass)
 *       Called by a payment provider's script (loaded after this one; both `defer`):
 *       the page uses ProviderClass when its config says payment.provider === name.
 *   PolarCheckouts.PaymentProvider
 *       The base class a provider extends; its methods below are the interface.
 *   PolarCheckouts.ApiError
 *       What a failed call throws: HTTP status (0: network) and Polar's JSON body.
 *   PolarCheckouts.page
 *       The running checkout page, once started (for a shop's own scripts and tests).
 *
 * Money: amounts are integers in the currency's minor unit (Polar's, and Stripe's).
 * The server sends the currency's exponent and the page's locale (config.money), and
 * the browser's Intl.NumberFormat writes them; no currency is assumed to have cents.
 */
(() => {
  "use strict";

  // Loaded twice (a shop's base and this page both include it): one page controller only,
  // or every confirm would be sent twice.
  if (window.PolarCheckouts) return;

  const DEBOUNCE_MS = 400;
  const FINAL_STATUSES = ["succeeded", "failed", "expired"];
  // Polar's error keys that have a slot of another name on the page.
  const ERROR_ALIASES = {
    confirmation_token_id: "payment",
    discount_id: "discount_code",
  };

  const readJSON = (id) => {
    const node = document.getElementById(id);
    if (!node) return null;
    try {
      return JSON.parse(node.textContent);
    } catch {
      return null;
    }
  };

  const sleep = (ms) => new Promise((resolve) => window.setTimeout(resolve, ms));

  const interpolate = (text, values) =>
    text.replace(/%\((\w+)\)s/g, (_, key) => (values[key] === undefined ? "" : String(values[key])));

  const isMissing = (value) => value === null || value === undefined;

  /** A failed call: HTTP status (0 for a network error) and Polar's JSON body, if any. */
  class ApiError extends Error {
    constructor(status, data) {
      super(`Polar answered ${status}`);
      this.name = "ApiError";
      this.status = status;
      this.data = data;
    }

    /** Polar refuses because the checkout is already confirmed (another tab, a click). */
    get notOpen() {
      return this.status === 403 && Boolean(this.data) && this.data.error === "NotOpenCheckout";
    }
  }

  /** Amounts of one currency: text for the shopper, and minor units from an input. */
  class Money {
    constructor({ currency = "USD", exponent = 2, locale } = {}) {
      this.exponent = exponent;
      try {
        this.formatter = new Intl.NumberFormat(locale, { style: "currency", currency });
      } catch {
        // An unknown locale tag: the browser's own locale still knows the currency.
        this.formatter = new Intl.NumberFormat(undefined, { style: "currency", currency });
      }
    }

    /** "$19.00" for 1900 USD, "¥500" for 500 JPY; "" for no amount. */
    format(amount) {
      return isMissing(amount) ? "" : this.formatter.format(amount / 10 ** this.exponent);
    }

    /** "12.34" (or "12,34") → 1234 in USD, "500" → 500 in JPY; undefined if no number. */
    parse(text) {
      const raw = String(text).trim().replace(",", ".");
      if (!raw) return undefined;
      const number = Number(raw);
      return Number.isFinite(number) ? Math.round(number * 10 ** this.exponent) : undefined;
    }
  }

  /**
   * How the page takes a payment. A provider's script extends this class and registers
   * it; without one (no provider for this checkout, or its script did not load) the page
   * says payment is unavailable.
   */
  class PaymentProvider {
    /** page: the CheckoutPage; config: the page config's `payment` object. */
    constructor(page, config) {
      this.page = page;
      this.config = config;
    }

    /** Once, when the page starts: mount the payment form. */
    start(checkout) {}

    /** After each of Polar's answers: the amount, currency or mode may have changed. */
    update(checkout) {}

    /**
     * The confirmation token to confirm with, or null after showing why there is none
     * (page.addError("payment", message)).
     */
    async confirmationToken() {
      this.page.addError("payment", this.page.strings.paymentUnavailable);
      return null;
    }

    /**
     * Polar's confirm answered `requires_action` (3-D Secure and friends): let the
     * customer act. Resolve when done (Polar's status then tells the outcome); throw an
     * ApiError when the step itself failed.
     */
    async handleNextAction(metadata) {}
  }

  const providers = new Map();

  /* ---------------------------------------------------------------- checkout page */

  class CheckoutPage {
    constructor(root, config) {
      this.root = root;
      this.config = config;
      this.strings = config.strings || {};
      this.money = new Money(config.money);
      this.checkout = config.checkout || {};
      this.secret = config.clientSecret;
      this.form = root.querySelector("[data-polar-form]");
      this.confirmButton = root.querySelector("[data-polar-confirm]");
      this.progress = root.querySelector("[data-polar-progress]");
      this.dirty = new Set();
      this.timer = null;
      this.sequence = 0;
      this.applied = 0;
      this.confirming = false;
      const payment = config.payment || {};
      const Provider = providers.get(payment.provider) || PaymentProvider;
      this.provider = new Provider(this, payment);
    }

    $(selector) {
      return this.root.querySelector(selector);
    }

    field(name) {
      return this.$(`[data-polar-field="${name}"]`);
    }

    value(name) {
      const input = this.field(name);
      return input ? input.value.trim() : "";
    }

    start() {
      for (const input of this.root.querySelectorAll("[data-polar-field]")) {
        // A discount code is sent by its Apply button (or Enter), not on change.
        if (input.dataset.polarField === "discount_code") continue;
        input.addEventListener("change", () => this.schedule(this.groupOf(input.dataset.polarField)));
      }
      // The summary and the button follow the amount as it is typed, not Polar's last answer.
      this.field("amount")?.addEventListener("input", () => this.previewAmount());
      const discountInput = this.$("[data-polar-discount-input]");
      const applyTyped = () => this.applyDiscount(discountInput.value.trim() || null);
      this.$("[data-polar-discount-apply]")?.addEventListener("click", applyTyped);
      this.$("[data-polar-discount-remove]")?.addEventListener("click", () => {
        discountInput.value = "";
        this.applyDiscount(null);
      });
      discountInput?.addEventListener("keydown", (event) => {
        if (event.key === "Enter") {
          event.preventDefault();
          applyTyped();
        }
      });
      this.form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.confirm();
      });
      this.provider.start(this.checkout);
      this.render(this.checkout);
      this.confirmButton.disabled = false;
    }

    /* ---------------------------------------------------------- talking to Polar */

    csrfToken() {
      const input = this.form.querySelector('input[name="csrfmiddlewaretoken"]');
      return input ? input.value : this.config.csrfToken || "";
    }

    /** One of Polar's client calls for this checkout; Polar's JSON, or an ApiError. */
    async api(method, suffix, body) {
      const { mode, base } = this.config.client;
      const headers = { Accept: "application/json" };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      const sameOrigin = mode === "server";
      if (sameOrigin) headers["X-CSRFToken"] = this.csrfToken();
      let response;
      try {
        response = await fetch(base + encodeURIComponent(this.secret) + suffix, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          // Polar's client routes need no cookie (the secret is the credential).
          credentials: sameOrigin ? "same-origin" : "omit",
          cache: "no-store",
        });
      } catch {
        throw new ApiError(0, null);
      }
      const data = await response.json().catch(() => null);
      if (!response.ok) throw new ApiError(response.status, data);
      return data;
    }

    /* ---------------------------------------------------------------- the fields */

    groupOf(field) {
      return field.startsWith("customer_billing_address") ? "customer_billing_address" : field;
    }

    billingVisible() {
      const billing = this.$("[data-polar-billing]");
      return Boolean(billing) && !billing.hidden;
    }

    address() {
      const country = this.value("customer_billing_address.country").toUpperCase();
      if (!country) return null;
      let state = this.value("customer_billing_address.state");
      // Polar wants US and Canadian states with their country prefix ("US-CA").
      if ((country === "US" || country === "CA") && /^[A-Za-z]{2}$/.test(state)) {
        state = `${country}-${state.toUpperCase()}`;
      }
      const address = { country, state: state || null };
      for (const key of ["line1", "line2", "postal_code", "city"]) {
        address[key] = this.value(`customer_billing_address.${key}`) || null;
      }
      return address;
    }

    /** The body for the given field groups (a Set; all of them when groups is null). */
    body(groups) {
      const body = {};
      const want = (group) => groups === null || groups.has(group);
      if (want("customer_email")) body.customer_email = this.value("customer_email") || null;
      if (this.field("amount") && want("amount")) {
        const amount = this.money.parse(this.value("amount"));
        if (amount !== undefined) body.amount = amount;
      }
      if (this.billingVisible()) {
        if (want("customer_name")) body.customer_name = this.value("customer_name") || null;
        if (want("customer_billing_address")) {
          const address = this.address();
          // Without a country Polar rejects the whole address; wait until there is one.
          if (address || groups === null) body.customer_billing_address = address;
        }
      }
      return body;
    }

    schedule(group) {
      if (this.confirming) return;
      this.dirty.add(group);
      window.clearTimeout(this.timer);
      this.timer = window.setTimeout(() => this.flush(), DEBOUNCE_MS);
    }

    /** The fields changed since the last call, sent to Polar; never rejects. */
    async flush() {
      const groups = this.takeDirty();
      if (groups.has("amount") && !this.checkAmount()) groups.delete("amount");
      const body = this.body(groups);
      if (!Object.keys(body).length) return;
      try {
        await this.update(body, [...groups]);
      } catch (error) {
        // update() has shown the error next to its field already. Polar refuses a whole
        // update for one bad field: the other fields are sent again without it, so a
        // mistyped email does not keep the address (and so the tax) from being saved.
        const refused = this.refusedGroups(error);
        const rest = [...groups].filter((group) => !refused.has(group));
        if (!refused.size || !rest.length || rest.length === groups.size) return;
        const retry = this.body(new Set(rest));
        if (!Object.keys(retry).length) return;
        try {
          await this.update(retry, rest);
        } catch {
          // Shown beside its field, as above.
        }
      }
    }

    /** The field groups a 422 answer names (empty for any other error). */
    refusedGroups(error) {
      const refused = new Set();
      const detail = error instanceof ApiError && error.status === 422 && error.data ? error.data.detail : null;
      if (!Array.isArray(detail)) return refused;
      for (const item of detail) {
        const loc = [...(item.loc || [])];
        if (["body", "query", "path"].includes(loc[0])) loc.shift();
        if (loc.length) refused.add(this.groupOf(String(loc[0])));
      }
      return refused;
    }

    takeDirty() {
      const groups = this.dirty;
      this.dirty = new Set();
      return groups;
    }

    async update(body, groups) {
      const sequence = ++this.sequence;
      for (const group of groups) this.clearError(group);
      this.clearError("__all__");
      let data;
      try {
        data = await this.api("PATCH", "", body);
      } catch (error) {
        if (!this.confirming) this.showError(error);
        throw error;
      }
      // Answers can overtake each other; only the newest one is shown.
      if (sequence >= this.applied && !this.confirming) {
        this.applied = sequence;
        this.render(data);
      }
      return data;
    }

    async applyDiscount(code) {
      const status = this.$("[data-polar-discount-status]");
      if (status) status.textContent = "";
      window.clearTimeout(this.timer);
      const body = this.body(this.takeDirty());
      body.discount_code = code;
      try {
        await this.update(body, ["discount_code"]);
      } catch {
        return; // shown beside the discount field
      }
      if (status) status.textContent = code ? this.strings.discountApplied : this.strings.discountRemoved;
    }

    /* ------------------------------------------------------------------ amount */

    /** The price's bounds in minor units: {min, max}, each undefined when there is none. */
    amountBounds() {
      const price = this.checkout.product_price || {};
      const bound = (value) => (isMissing(value) ? undefined : value);
      return { min: bound(price.minimum_amount), max: bound(price.maximum_amount) };
    }

    /** What is wrong with a typed amount, in the shopper's words; null when nothing is. */
    amountProblem(amount) {
      const s = this.strings;
      const { min, max } = this.amountBounds();
      if (amount === undefined) return this.value("amount") ? s.amountInvalid : s.amountMissing;
      if (amount < 0 || (min !== undefined && amount < min)) {
        return interpolate(s.amountTooLow, { amount: this.money.format(min || 0) });
      }
      if (max !== undefined && amount > max) {
        return interpolate(s.amountTooHigh, { amount: this.money.format(max) });
      }
      return null;
    }

    /** Check the amount field against the price's bounds; show why not. True when fine. */
    checkAmount() {
      if (!this.field("amount")) return true;
      const problem = this.amountProblem(this.money.parse(this.value("amount")));
      this.clearError("amount");
      if (problem) this.addError("amount", problem);
      return !problem;
    }

    /** The summary and the button for the amount being typed, until Polar answers. */
    previewAmount() {
      const amount = this.money.parse(this.value("amount"));
      if (amount === undefined || this.confirming) return;
      const preview = { ...this.checkout, amount, discount_amount: 0, net_amount: amount };
      const tax = this.checkout.tax_amount;
      if (isMissing(tax) || tax === 0) {
        // No tax yet, or none at this address: the total is the amount itself.
        preview.total_amount = amount;
        this.render(preview, { preview: true });
        return;
      }
      // The tax depends on the amount: Polar tells it for an amount it accepts (soon);
      // for one it refuses, the summary says so rather than keep the old figures.
      preview.tax_amount = null;
      preview.total_amount = null;
      this.render(preview, { preview: true, pending: this.amountProblem(amount) ? "refused" : "updating" });
    }

    /* ----------------------------------------------------------------- rendering */

    setAmount(name, text) {
      const node = this.$(`[data-polar-amount="${name}"]`);
      if (node) node.textContent = text;
    }

    render(checkout, { preview = false, pending = false } = {}) {
      const s = this.strings;
      if (!preview) this.checkout = checkout;
      const interval = (checkout.product_price || {}).recurring_interval;
      const per = interval === "month" ? ` ${s.perMonth}` : interval === "year" ? ` ${s.perYear}` : "";
      const { amount } = checkout;
      const net = checkout.net_amount !== undefined ? checkout.net_amount : checkout.subtotal_amount;
      let discount = checkout.discount_amount;
      if (isMissing(discount) && !isMissing(amount) && !isMissing(net)) discount = amount - net;
      const price = checkout.product_price || {};
      const free = isMissing(amount) || Boolean(checkout.is_free_product_price) || price.amount_type === "free";
      const orFree = (value) => (free || isMissing(value) ? s.free : this.money.format(value));

      this.setAmount("amount", orFree(amount) + per);
      const discountLine = this.$('[data-polar-line="discount"]');
      if (discountLine) discountLine.hidden = !discount;
      this.setAmount("discount", `\u2212${this.money.format(discount || 0)}`);
      const name = this.$("[data-polar-discount-name]");
      if (name) name.textContent = checkout.discount ? checkout.discount.code || checkout.discount.name || "" : "";
      const taxLine = this.$('[data-polar-line="tax"]');
      if (taxLine) taxLine.hidden = free;
      const tax = checkout.tax_amount;
      if (pending === "updating") {
        this.setAmount("tax", s.updating);
        this.setAmount("total", s.updating);
      } else if (pending === "refused") {
        this.setAmount("tax", s.taxDependsOnAmount);
        this.setAmount("total", interpolate(s.plusTax, { amount: this.money.format(amount) }) + per);
      } else {
        this.setAmount("tax", isMissing(tax) ? s.calculatedLater : this.money.format(tax));
        this.setAmount("total", orFree(checkout.total_amount) + per);
      }
      const remove = this.$("[data-polar-discount-remove]");
      if (remove) remove.hidden = !checkout.discount;

      const paymentNeeded = Boolean(checkout.is_payment_form_required);
      for (const part of this.root.querySelectorAll("[data-polar-billing], [data-polar-payment]")) {
        part.hidden = !paymentNeeded;
      }
      this.confirmButton.textContent = this.confirmLabel(checkout);
      if (preview) return;
      this.provider.update(checkout);
      // An answer to another field's change still carries the last accepted amount: while
      // the field holds another one (refused, or not sent yet), the summary shows that.
      const typed = this.field("amount") ? this.money.parse(this.value("amount")) : undefined;
      if (typed !== undefined && typed !== checkout.amount) this.previewAmount();
    }

    confirmLabel(checkout) {
      const s = this.strings;
      if (!checkout.is_payment_form_required) return s.getFree;
      const price = checkout.product_price || {};
      if (price.type === "recurring" || price.recurring_interval) return s.subscribe;
      if (isMissing(checkout.total_amount)) return s.pay;
      return interpolate(s.payAmount, { amount: this.money.format(checkout.total_amount) });
    }

    /* -------------------------------------------------------------------- errors */

    errorSlot(key) {
      let slot = this.$(`[data-polar-error="${key}"]`);
      while (!slot && key.indexOf(".") > 0) {
        key = key.slice(0, key.lastIndexOf("."));
        slot = this.$(`[data-polar-error="${key}"]`);
      }
      return slot;
    }

    /** Hide the errors of one field group (all of them when group is null). */
    clearError(group) {
      for (const slot of this.root.querySelectorAll("[data-polar-error]")) {
        const key = slot.dataset.polarError;
        if (group === null || key === group || key.startsWith(`${group}.`)) {
          slot.hidden = true;
          slot.textContent = "";
          this.field(key)?.removeAttribute("aria-invalid");
        }
      }
    }

    /** Show a message beside the field Polar named (or at the top of the form). */
    addError(key, message) {
      let slot = this.errorSlot(ERROR_ALIASES[key] || key);
      // A slot inside a hidden part of the form (billing for a free product) is not seen.
      if (!slot || slot.parentElement?.closest("[hidden]")) slot = this.errorSlot("__all__");
      if (slot.textContent.includes(message)) return slot;
      slot.textContent = slot.textContent ? `${slot.textContent} ${message}` : message;
      slot.hidden = false;
      this.field(slot.dataset.polarError)?.setAttribute("aria-invalid", "true");
      return slot;
    }

    /** Where a field error of Polar's shows, and what it says, in the shopper's words. */
    describeFieldError(key, item) {
      const s = this.strings;
      // Pydantic's "missing", or Polar's own "Field is required." on a confirm.
      const missing = item.type === "missing" || /^field (is )?required/i.test(item.msg || "");
      const address = "customer_billing_address";
      switch (key) {
        case "customer_email":
          return [key, missing && !this.value(key) ? s.emailMissing : s.emailInvalid];
        case "customer_name":
          return [key, s.nameMissing];
        case address:
          // No address at all: what is missing is its country. Otherwise Polar could not
          // place it for tax: say which part to add, beside that part.
          if (missing || !this.value(`${address}.country`)) return [`${address}.country`, s.countryMissing];
          for (const part of ["postal_code", "state"]) {
            const name = `${address}.${part}`;
            if (this.field(name) && !this.value(name)) return [name, s.addressIncomplete];
          }
          return [address, s.addressInvalid];
        case `${address}.country`:
          return [key, missing && !this.value(key) ? s.countryMissing : s.countryInvalid];
        case `${address}.postal_code`:
          return [key, missing ? s.postalCodeMissing : s.postalCodeInvalid];
        case `${address}.state`:
          return [key, missing ? s.stateMissing : s.stateInvalid];
        case `${address}.city`:
          return [key, missing ? s.cityMissing : s.fieldInvalid];
        case `${address}.line1`:
          return [key, missing ? s.line1Missing : s.fieldInvalid];
        case "amount":
          return [key, this.amountProblem(this.money.parse(this.value("amount"))) || s.amountRefused];
        case "discount_code":
        case "discount_id":
          return ["discount_code", s.discountInvalid];
        default:
          return [key, item.msg || s.genericError];
      }
    }

    /** Show an error from Polar (or the network); with focus, move the focus to it. */
    showError(error, { focus = false } = {}) {
      const s = this.strings;
      const data = (error && error.data) || {};
      const status = error instanceof ApiError ? error.status : -1;
      const { detail } = data;
      let slot;
      if (status === 0) {
        slot = this.addError("__all__", s.networkError);
      } else if (status === 400) {
        slot = this.addError("payment", typeof detail === "string" ? detail : s.genericError);
      } else if (status === 422 && Array.isArray(detail)) {
        for (const item of detail) {
          const loc = [...(item.loc || [])];
          if (["body", "query", "path"].includes(loc[0])) loc.shift();
          const [key, message] = this.describeFieldError(loc.join(".") || "__all__", item);
          this.addError(key, message);
        }
        if (focus) this.focusFirstError();
        return;
      } else if (status === 404 || status === 410) {
        slot = this.addError("__all__", s.expired);
        this.confirmButton.disabled = true;
        window.setTimeout(() => window.location.reload(), 1500);
      } else if (error instanceof ApiError && error.notOpen) {
        slot = this.addError("__all__", s.notOpen);
      } else if (status === 429) {
        slot = this.addError("__all__", s.rateLimited);
      } else if (status >= 400 && status < 500 && typeof detail === "string" && status !== 403) {
        slot = this.addError("__all__", detail);
      } else if (status === 403 && typeof detail === "string" && data.error) {
        slot = this.addError("__all__", detail);
      } else {
        slot = this.addError("__all__", s.genericError);
      }
      if (focus) this.focusMessage(slot);
    }

    /** Focus the first field marked invalid, in the order of the form; else the message. */
    focusFirstError() {
      const field = this.$('[aria-invalid="true"]');
      if (field) {
        field.focus();
        return;
      }
      this.focusMessage([...this.root.querySelectorAll("[data-polar-error]")].find((slot) => !slot.hidden));
    }

    /** Move the focus to a message (a decline, a network error) so it is read out and a
     * keyboard user goes on from there, not from the top of the page. */
    focusMessage(slot) {
      if (!slot) return;
      const field = this.field(slot.dataset.polarError);
      if (field && !field.closest("[hidden]")) {
        field.focus();
        return;
      }
      slot.tabIndex = -1;
      slot.focus();
    }

    /** The page's own checks before confirming: the required fields Polar would refuse. */
    checkRequired() {
      const s = this.strings;
      const missing = [["customer_email", s.emailMissing]];
      if (this.billingVisible()) {
        missing.push(["customer_billing_address.country", s.countryMissing]);
        for (const input of this.$("[data-polar-billing]").querySelectorAll("[data-polar-field][required]")) {
          const key = input.dataset.polarField;
          if (key.endsWith(".country")) continue;
          const part = key.split(".").pop();
          const message = { postal_code: s.postalCodeMissing, state: s.stateMissing, city: s.cityMissing, line1: s.line1Missing }[part];
          missing.push([key, message || s.fieldMissing]);
        }
      }
      let fine = this.checkAmount();
      for (const [key, message] of missing) {
        if (this.field(key) && !this.value(key)) {
          this.addError(key, message);
          fine = false;
        }
      }
      return fine;
    }

    /* ------------------------------------------------------------------- confirm */

    /** Billing details as Stripe (and the like) take them, from this page's fields. */
    billingDetails() {
      const address = this.address() || {};
      return {
        name: this.value("customer_name") || null,
        email: this.value("customer_email") || null,
        phone: null,
        address: {
          line1: address.line1 || null,
          line2: address.line2 || null,
          postal_code: address.postal_code || null,
          city: address.city || null,
          state: address.state || null,
          country: address.country || null,
        },
      };
    }

    setBusy(busy, message) {
      this.confirmButton.disabled = busy;
      this.confirmButton.setAttribute("aria-busy", busy ? "true" : "false");
      this.progress.textContent = message || "";
    }

    async confirm() {
      // One confirm at a time: a double click or a second Enter must not pay twice.
      if (this.confirming) return;
      this.confirming = true;
      window.clearTimeout(this.timer);
      this.dirty.clear();
      this.sequence++;
      this.clearError(null);
      if (!this.checkRequired()) {
        this.confirming = false;
        this.focusFirstError();
        return;
      }
      this.setBusy(true, this.strings.processing);
      try {
        const body = this.body(null);
        if (this.checkout.is_payment_form_required) {
          const token = await this.provider.confirmationToken();
          if (token === null) {
            this.release(); // the provider has said why
            this.focusFirstError();
            return;
          }
          body.confirmation_token_id = token;
        }
        const confirmed = await this.api("POST", "/confirm", body);
        const metadata = confirmed.payment_processor_metadata || {};
        if (metadata.intent_status === "requires_action") await this.provider.handleNextAction(metadata);
        await this.waitForResult();
      } catch (error) {
        this.release();
        this.showError(error, { focus: true });
        // A network error or a 5xx (the shop's database briefly down) leaves it unknown
        // whether Polar took the confirm before the answer was lost: ask the status.
        const unsure = error instanceof ApiError && (error.status === 0 || error.status >= 500);
        const notOpen = error instanceof ApiError && error.notOpen;
        if (notOpen || (unsure && (await this.confirmedAnyway()))) {
          this.setBusy(true, this.strings.waiting);
          this.confirming = true;
          // Already confirmed (another tab, an earlier click, a confirm whose answer was
          // lost): follow it to the end; the receipt shows the real status.
          await this.waitForResult();
        }
      }
    }

    /** Whether the status view says the checkout is no longer open (false if it cannot
     * answer either: the shopper's next press of the button finds out). */
    async confirmedAnyway() {
      try {
        const response = await fetch(this.config.statusUrl, {
          headers: { Accept: "application/json" },
          credentials: "same-origin",
          cache: "no-store",
        });
        if (!response.ok) return false;
        const data = (await response.json().catch(() => null)) || {};
        return typeof data.status === "string" && data.status !== "open";
      } catch {
        return false;
      }
    }

    release() {
      this.confirming = false;
      this.setBusy(false);
    }

    /** Poll this app's status view until Polar settles the payment, then go on. */
    async waitForResult() {
      const { statusUrl, successUrl, pollIntervalMs, pollMaxAttempts } = this.config;
      this.setBusy(true, this.strings.waiting);
      for (let attempt = 1; ; attempt++) {
        let data = {};
        try {
          const response = await fetch(statusUrl, {
            headers: { Accept: "application/json" },
            credentials: "same-origin",
            cache: "no-store",
          });
          data = (await response.json().catch(() => null)) || {};
        } catch {
          // A dropped connection: ask again at the next tick.
        }
        if (FINAL_STATUSES.includes(data.status) || attempt >= pollMaxAttempts) {
          window.location.assign(data.success_url || successUrl);
          return;
        }
        await sleep(pollIntervalMs);
      }
    }
  }

  /* ---------------------------------------------------- "still processing" page */

  const startSuccessPage = (config) => {
    const key = `polar-checkouts-refresh-${config.checkoutId}`;
    let count = 0;
    try {
      count = Number(window.sessionStorage.getItem(key) || "0");
    } catch {
      count = 0;
    }
    if (count >= config.maxRefreshes) {
      const progress = document.querySelector("[data-polar-success] [data-polar-progress]");
      if (progress) progress.textContent = config.takingLonger || "";
      return;
    }
    window.setTimeout(() => {
      try {
        window.sessionStorage.setItem(key, String(count + 1));
      } catch {
        // Private mode: refresh anyway, the server bounds its own calls.
      }
      window.location.reload();
    }, config.refreshMs);
  };

  /* ------------------------------------------------------------------ start-up */

  const namespace = {
    ApiError,
    PaymentProvider,
    page: null,
    registerPaymentProvider(name, ProviderClass) {
      providers.set(name, ProviderClass);
    },
  };
  window.PolarCheckouts = namespace;

  let started = false;
  const main = () => {
    if (started) return;
    started = true;
    const config = readJSON("polar-checkout-config");
    const root = document.querySelector("[data-polar-checkout]");
    if (config && root) {
      namespace.page = new CheckoutPage(root, config);
      namespace.page.start();
    }
    const successConfig = readJSON("polar-success-config");
    if (successConfig) startSuccessPage(successConfig);
  };

  // Start once every deferred script has run, so the providers have registered.
  if (document.readyState === "complete") {
    main();
  } else {
    document.addEventListener("DOMContentLoaded", main, { once: true });
    window.addEventListener("load", main, { once: true });
  }
})();
