-- Commerce: catalog, locations, stock per (SKU, location), reservations,
-- orders, returns, carts, and the keys of stock adjustments already
-- applied (till sales are applied once, however often they are replayed).

-- Products and locations are documents read and written whole.
CREATE TABLE products (
    id         TEXT PRIMARY KEY,
    doc        BLOB NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE product_skus (
    sku        TEXT PRIMARY KEY,
    product_id TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX product_skus_product ON product_skus (product_id);

CREATE TABLE locations (
    id         TEXT PRIMARY KEY,
    doc        BLOB NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per (SKU, location). The primary key makes one SKU's rows one
-- contiguous index range: "where is this SKU available" reads at most as
-- many rows as there are locations, whatever the size of the catalog.
-- The CHECK keeps stock from ever going negative or below what is held.
CREATE TABLE stock (
    sku         TEXT NOT NULL,
    location_id TEXT NOT NULL,
    on_hand     INTEGER NOT NULL DEFAULT 0,
    reserved    INTEGER NOT NULL DEFAULT 0,
    safety      INTEGER NOT NULL DEFAULT 0,
    version     INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (sku, location_id),
    CHECK (on_hand >= 0 AND reserved >= 0 AND safety >= 0 AND reserved <= on_hand)
) WITHOUT ROWID;

CREATE TABLE reservations (
    id          TEXT PRIMARY KEY,
    sku         TEXT NOT NULL,
    location_id TEXT NOT NULL,
    quantity    INTEGER NOT NULL CHECK (quantity > 0),
    status      TEXT NOT NULL,
    order_id    TEXT,
    customer    TEXT NOT NULL,
    expires_at  INTEGER,
    created_at  INTEGER NOT NULL,
    ended_at    INTEGER
) WITHOUT ROWID;
CREATE INDEX reservations_expiry ON reservations (expires_at) WHERE status = 'active' AND expires_at IS NOT NULL;
CREATE INDEX reservations_order ON reservations (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX reservations_sku ON reservations (sku, location_id);

CREATE TABLE stock_adjustments (
    key        TEXT PRIMARY KEY,
    reason     TEXT NOT NULL,
    detail     TEXT NOT NULL,
    applied_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE orders (
    id         TEXT PRIMARY KEY,
    status     TEXT NOT NULL,
    version    INTEGER NOT NULL,
    customer   TEXT NOT NULL,
    doc        BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX orders_customer ON orders (customer, id);

CREATE TABLE order_returns (
    id         TEXT PRIMARY KEY,
    order_id   TEXT NOT NULL,
    doc        BLOB NOT NULL,
    created_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX order_returns_order ON order_returns (order_id);

CREATE TABLE carts (
    customer   TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    doc        BLOB NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
