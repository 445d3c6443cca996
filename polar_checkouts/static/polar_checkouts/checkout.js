/*
 * django-polar-checkouts: the checkout page and the "still processing" page.
 *
 * No build step and no inline script: the page hands its data over in
 * <script type="application/json" id="polar-checkout-config"> (Django's json_script).
 * The same code talks to Polar's client routes ("browser" mode) or to this app's
 * mirror of them ("server" mode): only the base URL and the CSRF header differ.
 */
(function () {
  "use strict";

  function readJSON(id) {
    var node = document.getElementById(id);
    if (!node) return null;
    try {
      return JSON.parse(node.textContent);
    } catch (e) {
      return null;
    }
  }

  function sleep(ms) {
    return new Promise(function (resolve) {
      window.setTimeout(resolve, ms);
    });
  }

  // The same shape as the server's polar_money filter: symbol (or ISO code) and the
  // number with the page language's decimal separator, so re-rendered amounts match.
  var currencySymbols = {};

  function money(cents, currency) {
    if (cents === null || cents === undefined) return "";
    var code = (currency || "usd").toLowerCase();
    var number = Math.abs(cents) / 100;
    var value;
    try {
      value = new Intl.NumberFormat(document.documentElement.lang || "en", {
        minimumFractionDigits: 2,
        maximumFractionDigits: 2,
        useGrouping: false,
      }).format(number);
    } catch (e) {
      value = number.toFixed(2);
    }
    var sign = cents < 0 ? "-" : "";
    var symbol = currencySymbols[code];
    return symbol ? sign + symbol + value : sign + value + " " + code.toUpperCase();
  }

  function interpolate(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  // An API failure: HTTP status (0 for a network error) and Polar's JSON body, if any.
  function ApiError(status, data) {
    this.status = status;
    this.data = data;
  }

  /* ---------------------------------------------------------------- checkout page */

  function CheckoutPage(root, config) {
    this.root = root;
    this.config = config;
    this.strings = config.strings || {};
    this.checkout = config.checkout || {};
    this.secret = config.clientSecret;
    this.form = root.querySelector("[data-polar-form]");
    this.confirmButton = root.querySelector("[data-polar-confirm]");
    this.progress = root.querySelector("[data-polar-progress]");
    this.dirty = {};
    this.timer = null;
    this.sequence = 0;
    this.applied = 0;
    this.confirming = false;
    this.stripe = null;
    this.elements = null;
  }

  CheckoutPage.prototype.$ = function (selector) {
    return this.root.querySelector(selector);
  };

  CheckoutPage.prototype.field = function (name) {
    return this.root.querySelector('[data-polar-field="' + name + '"]');
  };

  CheckoutPage.prototype.value = function (name) {
    var input = this.field(name);
    return input ? input.value.trim() : "";
  };

  CheckoutPage.prototype.start = function () {
    var self = this;
    this.root.querySelectorAll("[data-polar-field]").forEach(function (input) {
      input.addEventListener("change", function () {
        self.schedule(self.groupOf(input.getAttribute("data-polar-field")));
      });
    });
    var apply = this.$("[data-polar-discount-apply]");
    var remove = this.$("[data-polar-discount-remove]");
    var discountInput = this.$("[data-polar-discount-input]");
    if (apply) {
      apply.addEventListener("click", function () {
        self.applyDiscount(discountInput.value.trim() || null);
      });
    }
    if (remove) {
      remove.addEventListener("click", function () {
        discountInput.value = "";
        self.applyDiscount(null);
      });
    }
    if (discountInput) {
      discountInput.addEventListener("keydown", function (event) {
        if (event.key === "Enter") {
          event.preventDefault();
          self.applyDiscount(discountInput.value.trim() || null);
        }
      });
    }
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.confirm();
    });
    this.setupStripe();
    this.render(this.checkout);
    this.confirmButton.disabled = false;
  };

  /* ------------------------------------------------------------ talking to Polar */

  CheckoutPage.prototype.csrfToken = function () {
    var input = this.form.querySelector('input[name="csrfmiddlewaretoken"]');
    return input ? input.value : this.config.csrfToken || "";
  };

  CheckoutPage.prototype.api = function (method, suffix, body) {
    var client = this.config.client;
    var headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    var sameOrigin = client.mode === "server";
    if (sameOrigin) headers["X-CSRFToken"] = this.csrfToken();
    return fetch(client.base + encodeURIComponent(this.secret) + suffix, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      // Polar's client routes need no cookie (the secret is the credential).
      credentials: sameOrigin ? "same-origin" : "omit",
      cache: "no-store",
    }).then(
      function (response) {
        return response
          .json()
          .catch(function () {
            return null;
          })
          .then(function (data) {
            if (!response.ok) throw new ApiError(response.status, data);
            return data;
          });
      },
      function () {
        throw new ApiError(0, null);
      }
    );
  };

  /* ------------------------------------------------------------------ the fields */

  CheckoutPage.prototype.groupOf = function (field) {
    return field.indexOf("customer_billing_address") === 0 ? "customer_billing_address" : field;
  };

  CheckoutPage.prototype.billingVisible = function () {
    var billing = this.$("[data-polar-billing]");
    return Boolean(billing) && !billing.hidden;
  };

  CheckoutPage.prototype.address = function () {
    var country = this.value("customer_billing_address.country").toUpperCase();
    if (!country) return null;
    var state = this.value("customer_billing_address.state");
    // Polar wants US and Canadian states with their country prefix ("US-CA").
    if ((country === "US" || country === "CA") && /^[A-Za-z]{2}$/.test(state)) {
      state = country + "-" + state.toUpperCase();
    }
    var address = { country: country, state: state || null };
    ["line1", "line2", "postal_code", "city"].forEach(
      function (key) {
        address[key] = this.value("customer_billing_address." + key) || null;
      }.bind(this)
    );
    return address;
  };

  CheckoutPage.prototype.amountCents = function () {
    var raw = this.value("amount").replace(",", ".");
    if (!raw) return undefined;
    var number = Number(raw);
    return isFinite(number) ? Math.round(number * 100) : undefined;
  };

  // The body for the given field groups (all of them when groups is null).
  CheckoutPage.prototype.body = function (groups) {
    var body = {};
    var want = function (group) {
      return groups === null || Object.prototype.hasOwnProperty.call(groups, group);
    };
    if (want("customer_email")) body.customer_email = this.value("customer_email") || null;
    if (this.field("amount") && want("amount")) {
      var cents = this.amountCents();
      if (cents !== undefined) body.amount = cents;
    }
    if (this.billingVisible()) {
      if (want("customer_name")) body.customer_name = this.value("customer_name") || null;
      if (want("customer_billing_address")) {
        var address = this.address();
        // Without a country Polar rejects the whole address; wait until there is one.
        if (address || groups === null) body.customer_billing_address = address;
      }
    }
    return body;
  };

  CheckoutPage.prototype.schedule = function (group) {
    var self = this;
    if (this.confirming) return;
    this.dirty[group] = true;
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(function () {
      self.flush();
    }, 400);
  };

  CheckoutPage.prototype.flush = function () {
    var groups = this.dirty;
    this.dirty = {};
    var body = this.body(groups);
    if (!Object.keys(body).length) return Promise.resolve();
    // update() has shown any error next to its field already.
    return this.update(body, Object.keys(groups)).catch(function () {});
  };

  CheckoutPage.prototype.update = function (body, groups) {
    var self = this;
    var sequence = ++this.sequence;
    groups.forEach(function (group) {
      self.clearError(group);
    });
    self.clearError("__all__");
    return this.api("PATCH", "", body).then(
      function (data) {
        // Answers can overtake each other; only the newest one is shown.
        if (sequence < self.applied || self.confirming) return data;
        self.applied = sequence;
        self.render(data);
        return data;
      },
      function (error) {
        if (!self.confirming) self.showError(error);
        throw error;
      }
    );
  };

  CheckoutPage.prototype.applyDiscount = function (code) {
    var self = this;
    var status = this.$("[data-polar-discount-status]");
    if (status) status.textContent = "";
    window.clearTimeout(this.timer);
    var body = this.body(this.dirty);
    this.dirty = {};
    body.discount_code = code;
    this.update(body, ["discount_code"]).then(
      function () {
        if (status) {
          status.textContent = code ? self.strings.discountApplied : self.strings.discountRemoved;
        }
      },
      function () {}
    );
  };

  /* ------------------------------------------------------------------- rendering */

  CheckoutPage.prototype.setAmount = function (name, text) {
    var node = this.$('[data-polar-amount="' + name + '"]');
    if (node) node.textContent = text;
  };

  CheckoutPage.prototype.render = function (checkout) {
    var s = this.strings;
    this.checkout = checkout;
    var currency = checkout.currency || "usd";
    var price = checkout.product_price || {};
    var interval = price.recurring_interval;
    var per = interval === "month" ? " " + s.perMonth : interval === "year" ? " " + s.perYear : "";
    var amount = checkout.amount;
    var net = checkout.net_amount !== undefined ? checkout.net_amount : checkout.subtotal_amount;
    var discount = checkout.discount_amount;
    if ((discount === undefined || discount === null) && amount !== null && net !== null && net !== undefined) {
      discount = amount - net;
    }
    var free = amount === null || amount === undefined;
    this.setAmount("amount", (free ? s.free : money(amount, currency)) + per);
    var discountLine = this.$('[data-polar-line="discount"]');
    if (discountLine) discountLine.hidden = !discount;
    this.setAmount("discount", "\u2212" + money(discount || 0, currency));
    var name = this.$("[data-polar-discount-name]");
    if (name) name.textContent = checkout.discount ? checkout.discount.code || checkout.discount.name || "" : "";
    var taxLine = this.$('[data-polar-line="tax"]');
    if (taxLine) taxLine.hidden = free;
    this.setAmount(
      "tax",
      checkout.tax_amount === null || checkout.tax_amount === undefined
        ? s.calculatedLater
        : money(checkout.tax_amount, currency)
    );
    this.setAmount(
      "total",
      (checkout.total_amount === null || checkout.total_amount === undefined
        ? s.free
        : money(checkout.total_amount, currency)) + per
    );
    var remove = this.$("[data-polar-discount-remove]");
    if (remove) remove.hidden = !checkout.discount;

    var paymentNeeded = Boolean(checkout.is_payment_form_required);
    var billing = this.$("[data-polar-billing]");
    if (billing) billing.hidden = !paymentNeeded;
    var payment = this.$("[data-polar-payment]");
    if (payment) payment.hidden = !paymentNeeded;
    this.confirmButton.textContent = this.confirmLabel(checkout);
    this.updateStripe(checkout);
  };

  CheckoutPage.prototype.confirmLabel = function (checkout) {
    var s = this.strings;
    if (!checkout.is_payment_form_required) return s.getFree;
    var price = checkout.product_price || {};
    if (price.type === "recurring" || price.recurring_interval) return s.subscribe;
    if (checkout.total_amount === null || checkout.total_amount === undefined) return s.pay;
    return interpolate(s.payAmount, { amount: money(checkout.total_amount, checkout.currency) });
  };

  /* ---------------------------------------------------------------------- errors */

  CheckoutPage.prototype.errorSlot = function (key) {
    var slot = this.root.querySelector('[data-polar-error="' + key + '"]');
    while (!slot && key.indexOf(".") > 0) {
      key = key.slice(0, key.lastIndexOf("."));
      slot = this.root.querySelector('[data-polar-error="' + key + '"]');
    }
    return slot;
  };

  CheckoutPage.prototype.clearError = function (group) {
    var self = this;
    this.root.querySelectorAll("[data-polar-error]").forEach(function (slot) {
      var key = slot.getAttribute("data-polar-error");
      if (group === null || key === group || key.indexOf(group + ".") === 0) {
        slot.hidden = true;
        slot.textContent = "";
        var input = self.field(key);
        if (input) input.removeAttribute("aria-invalid");
      }
    });
  };

  CheckoutPage.prototype.addError = function (key, message) {
    var aliases = {
      confirmation_token_id: "payment",
      discount_id: "discount_code",
      customer_billing_address: "customer_billing_address",
    };
    var slot = this.errorSlot(aliases[key] || key);
    // A slot inside a hidden part of the form (billing for a free product) is not seen.
    var container = slot && slot.parentElement;
    if (!slot || (container && container.closest("[hidden]"))) {
      slot = this.errorSlot("__all__");
    }
    slot.textContent = slot.textContent ? slot.textContent + " " + message : message;
    slot.hidden = false;
    var input = this.field(slot.getAttribute("data-polar-error"));
    if (input) input.setAttribute("aria-invalid", "true");
  };

  CheckoutPage.prototype.showError = function (error) {
    var s = this.strings;
    var data = (error && error.data) || {};
    var status = error instanceof ApiError ? error.status : -1;
    var detail = data.detail;
    if (status === 0) return this.addError("__all__", s.networkError);
    if (status === 400) {
      return this.addError("payment", typeof detail === "string" ? detail : s.genericError);
    }
    if (status === 422 && Array.isArray(detail)) {
      var self = this;
      detail.forEach(function (item) {
        var loc = (item.loc || []).slice();
        if (loc.length && ["body", "query", "path"].indexOf(loc[0]) >= 0) loc.shift();
        self.addError(loc.join(".") || "__all__", item.msg || s.genericError);
      });
      var first = this.root.querySelector('[aria-invalid="true"]');
      if (first) first.focus();
      return;
    }
    if (status === 404 || status === 410) {
      this.addError("__all__", s.expired);
      this.confirmButton.disabled = true;
      window.setTimeout(function () {
        window.location.reload();
      }, 1500);
      return;
    }
    if (status === 403 && data.error === "NotOpenCheckout") {
      this.addError("__all__", s.notOpen);
      return;
    }
    if (status === 429) return this.addError("__all__", s.rateLimited);
    if (status >= 400 && status < 500 && typeof detail === "string" && status !== 403) {
      return this.addError("__all__", detail);
    }
    if (status === 403 && typeof detail === "string" && data.error) {
      return this.addError("__all__", detail);
    }
    this.addError("__all__", s.genericError);
  };

  /* --------------------------------------------------------------------- payment */

  CheckoutPage.prototype.elementsOptions = function (checkout) {
    var currency = (checkout.currency || "usd").toLowerCase();
    if (checkout.is_payment_required && checkout.is_payment_setup_required) {
      return {
        mode: "subscription",
        amount: checkout.total_amount,
        currency: currency,
        setupFutureUsage: "off_session",
      };
    }
    if (checkout.is_payment_required) {
      return { mode: "payment", amount: checkout.total_amount, currency: currency };
    }
    return { mode: "setup", currency: currency, setupFutureUsage: "off_session" };
  };

  CheckoutPage.prototype.setupStripe = function () {
    var payment = this.config.payment || {};
    if (payment.provider !== "stripe") return;
    if (typeof window.Stripe !== "function" || !payment.publishableKey) {
      this.addError("payment", this.strings.paymentUnavailable);
      return;
    }
    this.stripe = window.Stripe(payment.publishableKey);
    var options = this.elementsOptions(this.checkout);
    options.paymentMethodCreation = "manual";
    this.elements = this.stripe.elements(options);
    this.elementsKey = JSON.stringify(this.elementsOptions(this.checkout));
    // Name, email and address come from this page's own fields.
    this.elements
      .create("payment", {
        fields: { billingDetails: { name: "never", email: "never", address: "never" } },
      })
      .mount(this.$("[data-polar-stripe]"));
  };

  CheckoutPage.prototype.updateStripe = function (checkout) {
    if (!this.elements) return;
    var options = this.elementsOptions(checkout);
    var key = JSON.stringify(options);
    if (key === this.elementsKey) return;
    this.elementsKey = key;
    this.elements.update(options);
  };

  CheckoutPage.prototype.billingDetails = function () {
    var address = this.address() || {};
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
  };

  // A confirmation token id, or null after showing why there is none.
  CheckoutPage.prototype.confirmationToken = function () {
    var self = this;
    var provider = (this.config.payment || {}).provider;
    if (provider === "fake") {
      var chosen = this.root.querySelector('input[name="fake_token"]:checked');
      if (!chosen) {
        this.addError("payment", this.strings.chooseTestPayment);
        return Promise.resolve(null);
      }
      return Promise.resolve(chosen.value);
    }
    if (provider !== "stripe" || !this.elements) {
      this.addError("payment", this.strings.paymentUnavailable);
      return Promise.resolve(null);
    }
    return this.elements.submit().then(function (submitted) {
      if (submitted.error) {
        self.addError("payment", submitted.error.message || self.strings.genericError);
        return null;
      }
      return self.stripe
        .createConfirmationToken({
          elements: self.elements,
          params: { payment_method_data: { billing_details: self.billingDetails() } },
        })
        .then(function (result) {
          if (result.error) {
            self.addError("payment", result.error.message || self.strings.genericError);
            return null;
          }
          return result.confirmationToken.id;
        });
    });
  };

  // 3-D Secure and friends: Stripe's own dialog, or the fake Polar's stand-in.
  CheckoutPage.prototype.nextAction = function (metadata) {
    var self = this;
    if ((this.config.payment || {}).provider === "fake") {
      var panel = this.$("[data-polar-action]");
      var button = this.$("[data-polar-action-complete]");
      panel.hidden = false;
      this.progress.textContent = "";
      button.focus();
      return new Promise(function (resolve, reject) {
        button.addEventListener(
          "click",
          function () {
            button.disabled = true;
            var url = self.config.client.fakeRoot + "_fake/actions/" + encodeURIComponent(self.secret) + "/complete";
            fetch(url, { method: "POST", credentials: "omit", cache: "no-store" }).then(
              function (response) {
                panel.hidden = true;
                if (response.ok) resolve();
                else reject(new ApiError(response.status, null));
              },
              function () {
                reject(new ApiError(0, null));
              }
            );
          },
          { once: true }
        );
      });
    }
    return this.stripe
      .handleNextAction({ clientSecret: metadata.intent_client_secret })
      .then(function (result) {
        // A failed authentication fails the payment in Polar; the status poll reports it.
        if (result.error) self.addError("payment", result.error.message || self.strings.authFailed);
      });
  };

  /* --------------------------------------------------------------------- confirm */

  CheckoutPage.prototype.setBusy = function (busy, message) {
    this.confirmButton.disabled = busy;
    this.confirmButton.setAttribute("aria-busy", busy ? "true" : "false");
    this.progress.textContent = message || "";
  };

  CheckoutPage.prototype.confirm = function () {
    var self = this;
    // One confirm at a time: a double click or a second Enter must not pay twice.
    if (this.confirming) return;
    this.confirming = true;
    window.clearTimeout(this.timer);
    this.dirty = {};
    this.sequence++;
    this.clearError(null);
    this.setBusy(true, this.strings.processing);

    var body = this.body(null);
    var tokenStep = this.checkout.is_payment_form_required
      ? this.confirmationToken()
      : Promise.resolve(undefined);
    tokenStep
      .then(function (token) {
        if (token === null) throw null;
        if (token !== undefined) body.confirmation_token_id = token;
        return self.api("POST", "/confirm", body);
      })
      .then(function (confirmed) {
        var metadata = confirmed.payment_processor_metadata || {};
        if (metadata.intent_status === "requires_action") return self.nextAction(metadata);
      })
      .then(function () {
        self.setBusy(true, self.strings.waiting);
        return self.waitForResult();
      })
      .catch(function (error) {
        if (error !== null) self.showError(error);
        if (error instanceof ApiError && error.status === 403 && error.data && error.data.error === "NotOpenCheckout") {
          // Already confirmed (another tab, an earlier click): follow it to the end.
          return self.waitForResult();
        }
        self.confirming = false;
        self.setBusy(false);
      });
  };

  CheckoutPage.prototype.waitForResult = function () {
    var self = this;
    var config = this.config;
    var attempt = 0;
    var done = ["succeeded", "failed", "expired"];
    function poll() {
      attempt++;
      return fetch(config.statusUrl, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
        cache: "no-store",
      })
        .then(function (response) {
          return response.json().catch(function () {
            return {};
          });
        })
        .catch(function () {
          return {};
        })
        .then(function (data) {
          if (done.indexOf(data.status) >= 0 || attempt >= config.pollMaxAttempts) {
            window.location.assign(data.success_url || config.successUrl);
            return;
          }
          return sleep(config.pollIntervalMs).then(poll);
        });
    }
    self.setBusy(true, self.strings.waiting);
    return poll();
  };

  /* ------------------------------------------------------ "still processing" page */

  function startSuccessPage(config) {
    var key = "polar-checkouts-refresh-" + config.checkoutId;
    var count = 0;
    try {
      count = Number(window.sessionStorage.getItem(key) || "0");
    } catch (e) {
      count = 0;
    }
    var progress = document.querySelector("[data-polar-success] [data-polar-progress]");
    if (count >= config.maxRefreshes) {
      if (progress) progress.textContent = config.takingLonger || "";
      return;
    }
    window.setTimeout(function () {
      try {
        window.sessionStorage.setItem(key, String(count + 1));
      } catch (e) {
        /* private mode: refresh anyway, the server bounds its own calls */
      }
      window.location.reload();
    }, config.refreshMs);
  }

  function main() {
    var config = readJSON("polar-checkout-config");
    var root = document.querySelector("[data-polar-checkout]");
    if (config && root) {
      currencySymbols = config.currencySymbols || {};
      var page = new CheckoutPage(root, config);
      page.start();
      window.polarCheckout = page;
    }
    var successConfig = readJSON("polar-success-config");
    if (successConfig) startSuccessPage(successConfig);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", main);
  } else {
    main();
  }
})();
