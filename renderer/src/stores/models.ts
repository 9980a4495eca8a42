/** Models & data: the zoo's and the user's models and data sets, as the engine lists them. */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { useClient, type DatasetListing, type ModelListing, type WsepError } from '../api/client.ts';

export const useModelsStore = defineStore('models', () => {
  const client = useClient();
  const models = ref<ModelListing[]>([]);
  const datasets = ref<DatasetListing[]>([]);
  const loading = ref(false);
  const loaded = ref(false);
  const error = ref<WsepError | null>(null);
  const datasetsError = ref<WsepError | null>(null);

  async function load(): Promise<void> {
    loading.value = true;
    const [m, d] = await Promise.all([client.call('listModels'), client.call('listDatasets')]);
    loading.value = false;
    loaded.value = true;
    if (m.ok) {
      models.value = m.value;
      error.value = null;
    } else error.value = m.error;
    if (d.ok) {
      datasets.value = d.value;
      datasetsError.value = null;
    } else datasetsError.value = d.error;
  }

  return { models, datasets, loading, loaded, error, datasetsError, load };
});
