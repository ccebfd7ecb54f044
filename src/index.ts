export { Gpu } from './gpu/gpu';
