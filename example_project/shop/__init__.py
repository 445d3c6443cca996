"""The example shop: a catalogue page selling Polar products with the checkout button."""
