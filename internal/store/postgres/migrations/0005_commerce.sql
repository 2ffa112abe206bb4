-- Commerce: catalog, locations, stock per (SKU, location), reservations,
-- orders, returns, carts, and the keys of stock adjustments already
-- applied (till sales are applied once, however often they are replayed).

CREATE TABLE products (
    id         text PRIMARY KEY,
    doc        jsonb NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE product_skus (
    sku        text PRIMARY KEY,
    product_id text NOT NULL
);
CREATE INDEX product_skus_product ON product_skus (product_id);

CREATE TABLE locations (
    id         text PRIMARY KEY,
    doc        jsonb NOT NULL,
    updated_at timestamptz NOT NULL
);

-- One row per (SKU, location): one SKU's rows are one index range. Writers
-- change rows with conditional UPDATEs (WHERE available >= qty), which
-- take the row lock and re-check the condition on the locked row, so
-- concurrent reservations never oversell; multi-row writes take rows in
-- (sku, location_id) order so that they never deadlock.
CREATE TABLE stock (
    sku         text NOT NULL,
    location_id text NOT NULL,
    on_hand     bigint NOT NULL DEFAULT 0,
    reserved    bigint NOT NULL DEFAULT 0,
    safety      bigint NOT NULL DEFAULT 0,
    version     bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (sku, location_id),
    CONSTRAINT stock_never_negative CHECK (on_hand >= 0 AND reserved >= 0 AND safety >= 0 AND reserved <= on_hand)
);

CREATE TABLE reservations (
    id          text PRIMARY KEY,
    sku         text NOT NULL,
    location_id text NOT NULL,
    quantity    bigint NOT NULL CHECK (quantity > 0),
    status      text NOT NULL,
    order_id    text,
    customer    jsonb NOT NULL,
    expires_at  timestamptz,
    created_at  timestamptz NOT NULL,
    ended_at    timestamptz
);
CREATE INDEX reservations_expiry ON reservations (expires_at) WHERE status = 'active' AND expires_at IS NOT NULL;
CREATE INDEX reservations_order ON reservations (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX reservations_sku ON reservations (sku, location_id);

CREATE TABLE stock_adjustments (
    key        text PRIMARY KEY,
    reason     text NOT NULL,
    detail     jsonb NOT NULL,
    applied_at timestamptz NOT NULL
);

CREATE TABLE orders (
    id         text PRIMARY KEY,
    status     text NOT NULL,
    version    bigint NOT NULL,
    customer   text NOT NULL,
    doc        jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX orders_customer ON orders (customer, id);

CREATE TABLE order_returns (
    id         text PRIMARY KEY,
    order_id   text NOT NULL,
    doc        jsonb NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX order_returns_order ON order_returns (order_id);

CREATE TABLE carts (
    customer   text PRIMARY KEY,
    version    bigint NOT NULL,
    doc        jsonb NOT NULL,
    updated_at timestamptz NOT NULL
);
