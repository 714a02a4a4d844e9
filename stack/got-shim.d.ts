declare module 'got' {
  import got from 'got/dist/source/index.js';
  export * from 'got/dist/source/index.js';
  export default got;
}
