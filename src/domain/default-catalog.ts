import type { CatalogInput } from './catalog.js';

/** The e-commerce catalog Keyport ships with. An installation replaces it with KEYPORT_CATALOG_FILE. */
export const DEFAULT_CATALOG: CatalogInput = {
  services: [
    { id: 'product', name: 'Products', scopes: [
      { id: 'product.read', description: 'Read products and their attributes' },
      { id: 'product.write', description: 'Create and change products' },
      { id: 'product.delete', description: 'Delete products' },
    ] },
    { id: 'category', name: 'Categories', scopes: [
      { id: 'category.read', description: 'Read the category tree' },
      { id: 'category.write', description: 'Change the category tree' },
    ] },
    { id: 'price', name: 'Prices', scopes: [
      { id: 'price.read', description: 'Read prices and price lists' },
      { id: 'price.write', description: 'Change prices and price lists' },
    ] },
    { id: 'cart', name: 'Carts', scopes: [
      { id: 'cart.read', description: 'Read carts' },
      { id: 'cart.write', description: 'Create carts and add items' },
    ] },
    { id: 'order', name: 'Orders', scopes: [
      { id: 'order.read', description: 'Read orders' },
      { id: 'order.write', description: 'Create and change orders' },
      { id: 'order.cancel', description: 'Cancel orders' },
    ] },
    { id: 'customer', name: 'Customers', scopes: [
      { id: 'customer.read', description: 'Read customer accounts' },
      { id: 'customer.write', description: 'Change customer accounts' },
    ] },
    { id: 'shipping', name: 'Shipping and logistics', scopes: [
      { id: 'shipping.read', description: 'Read carriers, zones and shipments' },
      { id: 'shipping.write', description: 'Change carriers, zones and shipments' },
      { id: 'inventory.read', description: 'Read stock levels' },
      { id: 'inventory.write', description: 'Change stock levels' },
    ] },
    { id: 'configuration', name: 'Configuration', scopes: [
      { id: 'configuration.read', description: 'Read tenant configuration' },
      { id: 'configuration.write', description: 'Change tenant configuration' },
    ] },
    { id: 'site', name: 'Shops and channels', scopes: [
      { id: 'site.read', description: 'Read shops and sales channels' },
      { id: 'site.write', description: 'Change shops and sales channels' },
    ] },
    { id: 'user', name: 'Users', scopes: [
      { id: 'user.read', description: 'Read back-office users' },
      { id: 'user.write', description: 'Invite and change back-office users' },
    ] },
    { id: 'iam', name: 'Roles and permissions', scopes: [
      { id: 'iam.read', description: 'Read roles and permissions' },
      { id: 'iam.write', description: 'Change roles and permissions' },
    ] },
  ],
  storefrontScopes: ['product.read', 'category.read', 'price.read', 'cart.read', 'cart.write', 'inventory.read'],
  roleDefinitions: [
    { id: 'product_data', name: 'Product Data', levels: {
      viewer: ['product.read', 'category.read'],
      editor: ['product.write', 'category.write'],
      owner: ['product.delete'],
    } },
    { id: 'logistics', name: 'Logistics', levels: {
      viewer: ['shipping.read', 'inventory.read'],
      editor: ['shipping.write', 'inventory.write'],
      owner: [],
    } },
    { id: 'configuration', name: 'Configuration', levels: {
      viewer: ['configuration.read'],
      editor: ['configuration.write'],
      owner: [],
    } },
    { id: 'order_data', name: 'Order Data', levels: {
      viewer: ['order.read', 'customer.read'],
      editor: ['order.write', 'customer.write'],
      owner: ['order.cancel'],
    } },
    { id: 'pricing', name: 'Pricing', levels: {
      viewer: ['price.read'],
      editor: ['price.write'],
      owner: [],
    } },
    { id: 'role_permission', name: 'Role & Permission', levels: {
      viewer: ['iam.read'],
      editor: ['iam.write'],
      owner: [],
    } },
    { id: 'shop_channel', name: 'Shop & Channel', levels: {
      viewer: ['site.read'],
      editor: ['site.write'],
      owner: [],
    } },
    { id: 'user', name: 'User', levels: {
      viewer: ['user.read'],
      editor: ['user.write'],
      owner: [],
    } },
  ],
};
