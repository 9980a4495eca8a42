/** The renderer's entry: the contract's client for this window, Pinia, the router, and the frame. */
import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { connectClient, setClient } from './api/client.ts';
import { makeRouter } from './router.ts';
import { useConnectionStore } from './stores/connection.ts';
import './style.css';

const app = createApp(App);
const pinia = createPinia();
app.use(pinia);
app.use(makeRouter());

const client = connectClient();
setClient(client);
useConnectionStore(pinia).watch(client);

app.mount('#app');
