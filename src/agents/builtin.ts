/** Registers the built-in agents (importing registry.ts registers command and scripted). */
import './registry.js';
