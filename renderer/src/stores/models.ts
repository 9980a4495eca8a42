/** Models & data: the zoo's and the user's models and data sets, as the engine lists them. */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { useClient, type DatasetListing, type ModelListing, type WsepError } from '../api/client.ts';
import { settleAnswer, useLoadState } from './load-state.ts';

export const useModelsStore = defineStore('models', () => {
  const client = useClient();
  const models = ref<ModelListing[]>([]);
  const datasets = ref<DatasetListing[]>([]);
  const { loading, loaded, error, during } = useLoadState();
  const datasetsError = ref<WsepError | null>(null);

  async function load(): Promise<void> {
    const [m, d] = await during(() => Promise.all([client.call('listModels'), client.call('listDatasets')]));
    // Loaded once answered, even by a failure: the page shows the error in place of the lists.
    loaded.value = true;
    settleAnswer(m, error, (value) => (models.value = value));
    settleAnswer(d, datasetsError, (value) => (datasets.value = value));
  }

  return { models, datasets, loading, loaded, error, datasetsError, load };
});
